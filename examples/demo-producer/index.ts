/**
 * A demo application worker: answers like a small API and fails the ways real ones do, so the tail
 * worker has errors to store. `npm start` runs it under a few names and sends it traffic.
 *   /                 200       /users/<id>   200 (info, debug)     POST /orders   201
 *   /login            401 (warn)                /missing            404 (warn)     /rate     429
 *   /slow             200 after a pause (warn)  /upstream           502 (console.error)
 *   /throw            throws a TypeError (console.error first): outcome "exception"
 *   /db               throws a DatabaseError: outcome "exception". The runtime names any subclass of Error
 *                     "Error" in the TraceItem; the class is on the stack's first line ("DatabaseError: ...")
 */
class DatabaseError extends Error {
  override name = 'DatabaseError'
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const path = url.pathname
    console.log('handling', request.method, path)
    if (path === '/throw') {
      console.error('order lookup failed for', url.searchParams.get('id') ?? 'no id')
      const order = undefined as unknown as { id: string }
      return new Response(order.id) // TypeError: Cannot read properties of undefined (reading 'id')
    }
    if (path === '/db') throw new DatabaseError('connection refused: orders-db')
    if (path === '/upstream') {
      console.error('upstream payments-api answered 503')
      return new Response('bad gateway\n', { status: 502 })
    }
    if (path === '/login') {
      console.warn('login attempt without credentials')
      return new Response('unauthorized\n', { status: 401 })
    }
    if (path === '/rate') {
      console.warn('rate limited')
      return new Response('slow down\n', { status: 429 })
    }
    if (path === '/slow') {
      console.warn('slow path')
      await new Promise(r => setTimeout(r, 50 + Math.floor(Math.random() * 250)))
      return new Response('finally\n')
    }
    if (path.startsWith('/users/')) {
      console.info('user lookup', path.slice(7))
      console.debug('cache', Math.random() < 0.7 ? 'hit' : 'miss')
      return Response.json({ id: path.slice(7) })
    }
    if (path === '/orders' && request.method === 'POST') return Response.json({ created: true }, { status: 201 })
    if (path === '/' || path === '/orders') return new Response(`hello from demo-producer: ${path}\n`)
    console.warn('no route for', path)
    return new Response('not found\n', { status: 404 })
  },
}
