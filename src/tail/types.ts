/** The request/response (or trigger) data of one invocation. */
export interface TailEventData {
  request?: {
    url: string
    method: string
    headers: Record<string, string>
    cf?: {
      colo: string
      country: string
      city?: string
      region?: string
      timezone?: string
      asn?: number
      [key: string]: unknown
    }
  }
  response?: {
    status: number
  }
  /** For cron triggers. */
  scheduledTime?: number
  cron?: string
  /** For queue consumers. */
  queue?: string
  batchSize?: number
  [key: string]: unknown
}

export interface LogEntry {
  level: 'log' | 'debug' | 'info' | 'warn' | 'error'
  message: unknown[]
  timestamp: number
}

export interface ExceptionEntry {
  name: string
  message: string
  timestamp: number
  stack?: string
}

/** One stored tail event (a TraceItem, normalized). */
export interface TailEvent {
  scriptName: string
  outcome: 'ok' | 'exception' | 'exceededCpu' | 'exceededMemory' | 'unknown' | (string & {})
  eventTimestamp: Date
  event: TailEventData | null
  logs: LogEntry[]
  exceptions: ExceptionEntry[]
  diagnosticsChannelEvents: unknown[]
  cpuTime?: number | null
  wallTime?: number | null
  duration?: number | null
  truncated?: boolean | null
  executionModel?: string | null
  entrypoint?: string | null
  scriptVersion?: { id?: string; tag?: string; message?: string } | null
  dispatchNamespace?: string | null
  scriptTags?: string[]
}

/** What you pass to `bulkCreate`: a TailEvent whose timestamp may also be epoch ms or an ISO string. */
export type TailEventInput = Omit<
  TailEvent, 'eventTimestamp' | 'event' | 'logs' | 'exceptions' | 'diagnosticsChannelEvents'
> & {
  eventTimestamp: Date | number | string
  event?: unknown
  logs?: unknown[]
  exceptions?: unknown[]
  diagnosticsChannelEvents?: unknown[]
}

/** A row of the WorkerLogs view. */
export interface WorkerLog {
  scriptName: string
  level: LogEntry['level']
  message: unknown[]
  timestamp: number
  colo: string | null
}

/** A row of the WorkerErrors view. */
export interface WorkerError {
  scriptName: string
  outcome: string
  exceptionName: string | null
  exceptionMessage: string | null
  url: string | null
  status: number | null
  colo: string | null
  timestamp: Date
}

/** A row of the WorkerRequests view. */
export interface WorkerRequest {
  scriptName: string
  method: string | null
  url: string | null
  status: number | null
  outcome: string
  colo: string | null
  country: string | null
  timestamp: Date
}
