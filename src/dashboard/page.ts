import { DASHBOARD_HTML } from './assets.gen.js'

/**
 * The dashboard's one page: HTML with its styles, scripts and the charting library inlined at
 * build time (scripts/embed-dashboard.mjs), so it needs no CDN and works offline. The page holds
 * no data: it signs in with the admin token and reads everything from /admin/* with it.
 */
export function dashboardResponse(request: Request): Response | null {
  const url = new URL(request.url)
  if (url.pathname !== '/' && url.pathname !== '/index.html') return null
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('the dashboard answers GET\n', { status: 405, headers: { allow: 'GET, HEAD' } })
  }
  return new Response(request.method === 'HEAD' ? null : DASHBOARD_HTML, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      // Inline only: the page loads nothing from anywhere and talks only to its own origin.
      'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    },
  })
}
