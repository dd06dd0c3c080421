import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Bundles a worker (by default the deployable tail worker) exactly as `wrangler deploy` would (dry run,
 * no network), so end-to-end tests run the artifact users ship.
 */
export interface BundledModule {
  type: 'ESModule' | 'CompiledWasm'
  path: string
  contents: Uint8Array<ArrayBuffer>
}

export async function bundleTailWorker(config = 'wrangler.toml'): Promise<BundledModule[]> {
  const outdir = await mkdtemp(join(tmpdir(), 'parquedb-bundle-'))
  await promisify(execFile)(process.execPath, [join(process.cwd(), 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--config', config, '--outdir', outdir], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  })
  const files = (await readdir(outdir)).filter(f => f.endsWith('.js') || f.endsWith('.wasm'))
  if (!files.some(f => f.endsWith('.js'))) throw new Error(`wrangler produced no bundle for ${config}`)
  // The entry module first: Miniflare runs the first module.
  files.sort((a, b) => Number(b.endsWith('.js')) - Number(a.endsWith('.js')))
  return Promise.all(files.map(async f => ({
    type: f.endsWith('.wasm') ? 'CompiledWasm' as const : 'ESModule' as const,
    path: f,
    contents: new Uint8Array(await readFile(join(outdir, f))),
  })))
}
