declare global {
  namespace Cloudflare {
    interface Env {
      PARQUEDB: R2Bucket
      PARQUEDB_BUFFER: DurableObjectNamespace
      PARQUEDB_ADMIN_TOKEN?: string
    }
  }
}
export {}
