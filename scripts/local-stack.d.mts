import type { Miniflare } from 'miniflare'
export interface LocalStack {
  mf: Miniflare
  url: string
  scripts: string[]
  send(script: string, path: string, init?: RequestInit & { cf?: Record<string, unknown> }): Promise<number>
  compact(): Promise<unknown>
  admin<T = any>(path: string, body?: unknown): Promise<T>
  dispose(): Promise<void>
}
export function startLocalStack(options: {
  port?: number; host?: string; token: string; persist?: string | false; inspectorPort?: number; scripts?: string[]
  output?: (line: string) => void
}): Promise<LocalStack>
