import { parquetMetadata } from 'hyparquet'
import { DB } from './src/index.js'
import { MemoryBucket } from './src/storage/index.js'
import { loadManifest } from './src/manifest/index.js'
import { TailEvents } from './src/tail/index.js'
import { makeEvents } from './test/helpers/events.js'
const T0 = Date.parse('2024-01-15T00:00:00Z'), NOW = T0 + 25 * 3600e3
const ev = makeEvents(30000, { start: T0, spanMs: 24 * 3600e3, seed: 7 }).sort((a, b) => +a.eventTimestamp - +b.eventTimestamp)
const b = new MemoryBucket()
const db = DB({ TailEvents }, { storage: b, now: () => NOW })
for (let i = 0; i < ev.length; i += 50) await db.TailEvents.bulkCreate(ev.slice(i, i + 50))
let c = process.cpuUsage(); const t = performance.now()
const pass = await db.compact({ timeBudgetMs: 600000 })
c = process.cpuUsage(c)
console.log('pass ms', Math.round(performance.now() - t), 'cpu', (c.user + c.system) / 1000, 'files', pass.filesWritten, 'merged', pass.partitionsMerged)
const files = (await loadManifest(b, '', NOW)).manifest.collections.TailEvents!.files
console.log('total bytes', files.reduce((n, f) => n + f.bytes, 0), 'files', files.length)
const f = files[5]!
const md = parquetMetadata(await (await b.get(f.key))!.arrayBuffer())
const per = new Map<string, number>()
for (const g of md.row_groups) for (const ch of g.columns) { const k = ch.meta_data!.path_in_schema.join('.'); per.set(k, (per.get(k) ?? 0) + Number(ch.meta_data!.total_compressed_size)) }
console.log('file', f.bytes, 'rows', f.rows, 'groups', md.row_groups.length, 'footer', md.metadata_length)
console.log([...per].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '))
console.log(md.row_groups[0].columns.filter(c=>c.meta_data!.path_in_schema[0]==='eventTimestamp').map(c=>JSON.stringify(c.meta_data!.encodings)))
