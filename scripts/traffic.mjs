// The demo's traffic: a realistic mix for the demo producers (2xx mostly, some 4xx and 5xx,
// exceptions, logs at every level) from several colos and countries.

/** [path, method, weight]: what the demo producer answers is in examples/demo-producer/index.ts. */
export const ROUTES = [
  ['/', 'GET', 30], ['/users/{id}', 'GET', 25], ['/orders', 'POST', 10], ['/slow', 'GET', 8],
  ['/login', 'GET', 6], ['/missing', 'GET', 6], ['/rate', 'GET', 5], ['/upstream', 'GET', 4],
  ['/throw', 'GET', 4], ['/db', 'GET', 2],
]
export const SCRIPTS = ['api-worker', 'auth-worker', 'shop-worker']
/** [colo, country, city, continent] */
export const PLACES = [
  ['LHR', 'GB', 'London', 'EU'], ['FRA', 'DE', 'Frankfurt', 'EU'], ['CDG', 'FR', 'Paris', 'EU'],
  ['DFW', 'US', 'Dallas', 'NA'], ['SJC', 'US', 'San Jose', 'NA'], ['IAD', 'US', 'Ashburn', 'NA'],
  ['NRT', 'JP', 'Tokyo', 'AS'], ['SIN', 'SG', 'Singapore', 'AS'], ['GRU', 'BR', 'São Paulo', 'SA'],
  ['SYD', 'AU', 'Sydney', 'OC'],
]

/** A request of the mix: which script, what to ask it, and from where. */
export function pickRequest(rand = Math.random) {
  const total = ROUTES.reduce((a, r) => a + r[2], 0)
  let x = rand() * total
  const route = ROUTES.find(r => (x -= r[2]) < 0) ?? ROUTES[0]
  const script = SCRIPTS[Math.floor(rand() * SCRIPTS.length)]
  const [colo, country, city, continent] = PLACES[Math.floor(rand() * PLACES.length)]
  const path = route[0].replace('{id}', String(1 + Math.floor(rand() * 500)))
  return { script, method: route[1], path, cf: { colo, country, city, continent, region: '', timezone: '' } }
}
