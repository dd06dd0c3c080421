import type { ExpressionEnv } from '../expr/index.js'
import { type CollectionSchema, SchemaError } from '../schema/index.js'
import { checkSchedule } from './refresh_schedule.js'
import { type SourceLookup, type ViewPlan, compileView } from './view_plan.js'

/**
 * Compiles every view of a DB, sources before the views that read them; a `$from`
 * cycle or a missing source is an error naming the view.
 */
export function compileViews(
  defs: Record<string, Record<string, unknown>>, collections: CollectionSchema[], env: ExpressionEnv,
): ViewPlan[] {
  const plans = new Map<string, ViewPlan>()
  const visiting = new Set<string>()
  const lookup = (name: string): ReturnType<SourceLookup> => {
    const c = collections.find(x => x.name === name)
    if (c) return { schema: c, root: c.name, chain: [], aggregating: false }
    if (!(name in defs)) return null
    const plan = build(name)
    return plan
      ? {
        schema: plan.output, root: plan.root, chain: plan.chain, aggregating: !!plan.aggregate,
        definition: plan.definition,
      }
      : null
  }
  const build = (name: string): ViewPlan | null => {
    const done = plans.get(name)
    if (done) return done
    if (visiting.has(name)) {
      throw new SchemaError(`view ${name}.$from: the views form a cycle (${[...visiting, name].join(' → ')})`)
    }
    visiting.add(name)
    const plan = compileView(name, defs[name]!, lookup, env)
    if (plan.refresh.mode === 'scheduled') {
      try {
        checkSchedule(plan.refresh.schedule)
      } catch (e) {
        throw new SchemaError(`view ${name}.$refresh: ${(e as Error).message}`)
      }
    }
    visiting.delete(name)
    plans.set(name, plan)
    return plan
  }
  for (const name of Object.keys(defs)) build(name)
  return [...plans.values()]
}
