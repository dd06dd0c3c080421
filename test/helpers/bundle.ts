import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Bundles a worker (by default the deployable tail worker) exactly as `wrangler deploy` would (dry run,
 * no network), so end-to-end tests run the artifact users ship.
 */
export async function bundleTailWorker(config = 'wrangler.toml'): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), 'parquedb-bundle-'))
  await promisify(execFile)(process.execPath, [join(process.cwd(), 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--config', config, '--outdir', outdir], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  })
  const main = (await readdir(outdir)).find(f => f.endsWith('.js'))
  if (!main) throw new Error(`wrangler produced no bundle for ${config}`)
  return readFile(join(outdir, main), 'utf8')
}
