// The local stack behind `npm start` and the browser test: the tail worker (bundled as `wrangler
// deploy` would) and the demo producers on one Miniflare (local workerd, local R2). The producers'
// failures reach the tail worker as production ones do: an uncaught exception is outcome
// "exception" with its name, message and stack, and console.error is a log at level "error".
import { Miniflare } from 'miniflare'
import { bundleWorker } from './bundle-worker.mjs'
import { SCRIPTS } from './traffic.mjs'

const COMPAT = '2025-04-01'

/**
 * Locally workerd leaves TraceItem.scriptName null (production fills it). Each producer therefore
 * reports to a small relay that names it and hands the items to the tail worker's tail().
 */
const relay = name => `export default {
  async tail(events, env) {
    // Locally wallTime is 0 too: the time from the event's start to its delivery stands in for it.
    const items = JSON.parse(JSON.stringify(events)).map(e => ({
      ...e, scriptName: e.scriptName ?? ${JSON.stringify(name)},
      wallTime: e.wallTime || Math.max(0, Date.now() - e.eventTimestamp),
    }))
    await env.TAIL.tail(items)
  },
}`

/**
 * @param {{ port?: number, host?: string, token: string, persist?: string | false, inspectorPort?: number,
 *   scripts?: string[], output?: (line: string) => void }} options  persist: the folder kept between runs
 *   (wrangler's layout), or false; output: gets workerd's own lines (the producers' console output, which
 *   the tail worker stores anyway, is left out)
 */
export async function startLocalStack(options) {
  const scripts = options.scripts ?? SCRIPTS
  const [tailModules, producerModules] = await Promise.all([
    bundleWorker('wrangler.toml'), bundleWorker('examples/demo-producer/wrangler.toml'),
  ])
  // Stacks name the module by the worker, not by the folder this runs in.
  const named = (modules, name) => modules.map(m => ({ ...m, path: `/${name}/${m.path}` }))
  const mf = new Miniflare({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    cf: false,
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    r2Persist: options.persist ? `${options.persist}/v3/r2` : false,
    durableObjectsPersist: options.persist ? `${options.persist}/v3/do` : false,
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.setEncoding('utf8')
        stream.on('data', text => {
          for (const line of text.split('\n')) if (/parquedb/i.test(line)) options.output?.(line)
        })
      }
    },
    workers: [
      {
        name: 'parquedb-tail', modules: named(tailModules, 'parquedb-tail'), modulesRoot: '/', compatibilityDate: COMPAT, r2Buckets: ['PARQUEDB'],
        // The group-commit buffer's shards, as wrangler.toml binds them.
        durableObjects: { PARQUEDB_BUFFER: { className: 'ParqueDBBuffer', useSQLite: true } },
        bindings: { PARQUEDB_ADMIN_TOKEN: options.token },
      },
      ...scripts.map(name => ({
        name, modules: named(producerModules, name), modulesRoot: '/', compatibilityDate: COMPAT, tails: [`${name}-relay`],
        routes: [`${name}.example.com/*`],
      })),
      ...scripts.map(name => ({
        name: `${name}-relay`, modules: true, script: relay(name), compatibilityDate: COMPAT,
        serviceBindings: { TAIL: 'parquedb-tail' },
      })),
    ],
  })
  const url = await mf.ready
  const tail = await mf.getWorker('parquedb-tail')
  return {
    mf,
    url: url.href,
    scripts,
    /** One request to a producer; an exception it throws resolves as a 500 here, as a client would see it. */
    async send(script, path, init = {}) {
      try {
        const res = await mf.dispatchFetch(`https://${script}.example.com${path}`, init)
        await res.arrayBuffer()
        return res.status
      } catch {
        return 500
      }
    },
    /** Runs the cron: one compaction pass. */
    compact: () => tail.scheduled({ cron: '* * * * *', scheduledTime: new Date() }),
    async admin(path, body) {
      const res = await mf.dispatchFetch(new URL(path, url), {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${options.token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
      return res.json()
    },
    dispose: () => mf.dispose(),
  }
}
