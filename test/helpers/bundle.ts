import { execFile } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Bundles the deployable tail worker exactly as `wrangler deploy` would (dry run,
 * no network), so end-to-end tests run the artifact users ship.
 */
export async function bundleTailWorker(): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), 'parquedb-bundle-'))
  await promisify(execFile)(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', outdir], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  })
  return readFile(join(outdir, 'worker.js'), 'utf8')
}
