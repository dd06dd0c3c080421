export interface BundledModule {
  type: 'ESModule' | 'CompiledWasm'
  path: string
  contents: Uint8Array<ArrayBuffer>
}
export function bundleWorker(config?: string): Promise<BundledModule[]>
