// Bundles a worker exactly as `wrangler deploy` would (dry run, no network), for Miniflare:
// `npm start` runs the bundles, and the end-to-end tests run the artifact users ship.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The modules of the worker that `config` (a wrangler.toml, relative to the repo) describes, entry first. */
export async function bundleWorker(config = 'wrangler.toml') {
  const outdir = await mkdtemp(join(tmpdir(), 'parquedb-bundle-'))
  try {
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy',
      '--dry-run', '--config', join(root, config), '--outdir', outdir], {
      cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    })
    const files = (await readdir(outdir)).filter(f => f.endsWith('.js') || f.endsWith('.wasm'))
    if (!files.some(f => f.endsWith('.js'))) throw new Error(`wrangler produced no bundle for ${config}`)
    // The entry module first: Miniflare runs the first module.
    files.sort((a, b) => Number(b.endsWith('.js')) - Number(a.endsWith('.js')))
    return await Promise.all(files.map(async f => ({
      type: f.endsWith('.wasm') ? 'CompiledWasm' : 'ESModule',
      path: f,
      contents: new Uint8Array(await readFile(join(outdir, f))),
    })))
  } finally {
    await rm(outdir, { recursive: true, force: true })
  }
}
