/** Answers requests, logs, and fails on /throw: traffic for the tail worker to store. */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    console.log('handling', request.method, url.pathname)
    if (url.pathname === '/throw') throw new Error(`demo failure at ${new Date().toISOString()}`)
    if (url.pathname === '/slow') {
      console.warn('slow path')
      await new Promise(r => setTimeout(r, 50))
    }
    return new Response(`hello from demo-producer: ${url.pathname}\n`)
  },
}
