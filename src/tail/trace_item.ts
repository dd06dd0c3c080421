import type { TailEventInput } from './types.js'

/**
 * The fields of a Cloudflare TraceItem this transform reads. Declared here rather
 * than taken from @cloudflare/workers-types so the package builds without them.
 */
export interface TraceItemLike {
  scriptName: string | null
  outcome: string
  eventTimestamp: number | null
  event: unknown
  logs?: unknown[] | null
  exceptions?: unknown[] | null
  diagnosticsChannelEvents?: unknown[] | null
  cpuTime?: number
  wallTime?: number
  truncated?: boolean
  executionModel?: string
  entrypoint?: string | null
  scriptVersion?: unknown
  dispatchNamespace?: string | null
  scriptTags?: string[] | null
}

/**
 * TraceItem → TailEvent. A missing eventTimestamp (the runtime sends null for some
 * events) falls back to `receivedAt`, so the event still lands in the right hour.
 */
export function traceItemToTailEvent(item: TraceItemLike, receivedAt: number = Date.now()): TailEventInput {
  const wall = typeof item.wallTime === 'number' ? Math.round(item.wallTime) : null
  return {
    scriptName: item.scriptName ?? 'unknown',
    outcome: item.outcome ?? 'unknown',
    eventTimestamp: new Date(item.eventTimestamp ?? receivedAt),
    event: item.event ?? null,
    logs: item.logs ?? [],
    exceptions: item.exceptions ?? [],
    diagnosticsChannelEvents: item.diagnosticsChannelEvents ?? [],
    cpuTime: typeof item.cpuTime === 'number' ? Math.round(item.cpuTime) : null,
    wallTime: wall,
    duration: wall,
    truncated: item.truncated ?? null,
    executionModel: item.executionModel ?? null,
    entrypoint: item.entrypoint ?? null,
    scriptVersion: (item.scriptVersion as TailEventInput['scriptVersion']) ?? null,
    dispatchNamespace: item.dispatchNamespace ?? null,
    scriptTags: item.scriptTags ?? [],
  }
}
