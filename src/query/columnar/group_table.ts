import type { Cols, Selection } from './accumulators.js'
import type { Eval } from './expression.js'

/**
 * GROUP BY's hash table: each distinct tuple of key values gets a group id, in order of first
 * appearance (the order the row engine emits groups in). Keys are compared as Map keys
 * (SameValueZero: 1 and '1' differ, NULL is one group), one nested Map per key column, so no
 * key string is built per row. Without keys there is exactly one group, even over no rows.
 */
export class GroupTable {
  /** The key values of each group, one array per key. */
  readonly keys: unknown[][]
  private readonly root = new Map<unknown, unknown>()
  private count = 0

  constructor(private readonly evals: readonly Eval<Cols>[], private readonly onNew: (count: number) => void) {
    this.keys = evals.map(() => [])
    if (evals.length === 0) this.add([])
  }

  get size(): number {
    return this.count
  }

  /** Fills `sel.groups` for the selected rows. */
  assign(cols: Cols, sel: Selection): void {
    const { rows, groups, length } = sel
    const evals = this.evals
    const n = evals.length
    if (n === 0) { groups.fill(0, 0, length); return }
    if (n === 1) {
      const ev = evals[0]!
      const map = this.root as Map<unknown, number>
      for (let k = 0; k < length; k++) {
        const v = ev(cols, rows[k]!)
        let g = map.get(v)
        if (g === undefined) { g = this.add([v]); map.set(v, g) }
        groups[k] = g
      }
      return
    }
    const values = new Array<unknown>(n)
    for (let k = 0; k < length; k++) {
      const i = rows[k]!
      let map = this.root
      for (let j = 0; j < n - 1; j++) {
        const v = (values[j] = evals[j]!(cols, i))
        let next = map.get(v) as Map<unknown, unknown> | undefined
        if (!next) { next = new Map(); map.set(v, next) }
        map = next
      }
      const last = (values[n - 1] = evals[n - 1]!(cols, i))
      let g = map.get(last) as number | undefined
      if (g === undefined) { g = this.add(values); map.set(last, g) }
      groups[k] = g
    }
  }

  private add(values: readonly unknown[]): number {
    for (let j = 0; j < values.length; j++) this.keys[j]!.push(values[j])
    this.onNew(this.count + 1)
    return this.count++
  }
}
