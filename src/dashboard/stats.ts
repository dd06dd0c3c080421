/**
 * What a query cost, in the terms the dashboard and the CLI show: files, row groups, bytes and
 * R2 operations (with their price). Structural, so it sums find() and SQL scans alike.
 */
export interface ScanLike {
  filesRead: number
  rowGroupsRead: number
  segmentsRead: number
  rowsRead: number
  ops: { get: number; head: number; put: number; list: number; delete: number; bytesRead: number }
}

export interface QueryStats {
  files: number
  rowGroups: number
  walSegments: number
  rowsRead: number
  bytesRead: number
  r2: { get: number; head: number; put: number; list: number; delete: number }
  /** R2 Class A (PUT, LIST) and Class B (GET, HEAD) operations, and what they cost in US dollars. */
  classA: number
  classB: number
  costUsd: number
}

/** R2's prices per operation: Class A $4.50 and Class B $0.36 per million (DELETE is free). */
export const CLASS_A_USD = 4.5e-6
export const CLASS_B_USD = 0.36e-6

export function queryStats(scans: readonly ScanLike[]): QueryStats {
  const out: QueryStats = {
    files: 0, rowGroups: 0, walSegments: 0, rowsRead: 0, bytesRead: 0,
    r2: { get: 0, head: 0, put: 0, list: 0, delete: 0 }, classA: 0, classB: 0, costUsd: 0,
  }
  for (const s of scans) {
    out.files += s.filesRead
    out.rowGroups += s.rowGroupsRead
    out.walSegments += s.segmentsRead
    out.rowsRead += s.rowsRead
    out.bytesRead += s.ops.bytesRead
    for (const k of ['get', 'head', 'put', 'list', 'delete'] as const) out.r2[k] += s.ops[k]
  }
  out.classA = out.r2.put + out.r2.list
  out.classB = out.r2.get + out.r2.head
  out.costUsd = out.classA * CLASS_A_USD + out.classB * CLASS_B_USD
  return out
}
