// The ParqueDB dashboard. Plain browser JavaScript, no build step: embedded into the worker by
// scripts/embed-dashboard.mjs with uPlot. Everything it shows comes from /admin/* with the token.
'use strict'
;(() => {
  const $ = id => document.getElementById(id)
  const KEY = 'parquedb-admin-token'
  const PALETTE = ['#f38020', '#3b82f6', '#10b981', '#a855f7', '#ef4444', '#eab308', '#14b8a6', '#64748b']
  let token = sessionStorage.getItem(KEY) || ''
  let charts = []
  let liveTimer = null
  let engineTimer = null

  /** Builds an element; children are nodes or text (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
      else if (k === 'class') el.className = v
      else el.setAttribute(k, v === true ? '' : v)
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue
      el.append(c instanceof Node ? c : document.createTextNode(String(c)))
    }
    return el
  }

  class ApiError extends Error {}

  async function api(path, body) {
    const res = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let data
    try { data = JSON.parse(text) } catch { data = { error: text } }
    if (res.status === 401) { signOut('The token was refused (401). Sign in again.'); throw new ApiError('unauthorized') }
    if (!res.ok) throw new ApiError(data.error || `${res.status} ${res.statusText}`)
    return data
  }

  const fmtTime = t => (t ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '')
  const fmtNum = n => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 2 }))
  function fmtBytes(n) {
    if (!n) return '0 B'
    const u = ['B', 'KB', 'MB', 'GB', 'TB']
    const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)))
    return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${u[i]}`
  }
  const fmtUsd = n => `$${n < 0.01 ? n.toFixed(6) : n.toFixed(2)}`
  const ago = ms => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min`
    : `${(ms / 3_600_000).toFixed(1)} h`)

  function statsLine(s, ms) {
    if (!s) return ''
    return `read ${fmtNum(s.files)} files, ${fmtNum(s.rowGroups)} row groups, ${fmtNum(s.walSegments)} WAL segments, `
      + `${fmtNum(s.rowsRead)} rows, ${fmtBytes(s.bytesRead)}; R2: ${s.r2.get} GET, ${s.r2.head} HEAD, ${s.r2.list} LIST, `
      + `${s.r2.put} PUT (${fmtUsd(s.costUsd)})${ms !== undefined ? `; ${Math.round(ms)} ms` : ''}`
  }

  function range() {
    const span = Number($('range').value)
    const to = Date.now()
    return { from: to - span, to }
  }
  const script = () => $('script').value || undefined

  /** A table of rows; `cols` are [label, value(row), class?]. */
  function table(rows, cols, onclick) {
    if (!rows.length) return h('p', { class: 'empty' }, 'Nothing in this range.')
    return h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, cols.map(c => h('th', { class: c[2] }, c[0])))),
      h('tbody', {}, rows.map((r, i) => h('tr', {
        class: onclick ? 'clickable' : undefined,
        onclick: onclick ? e => onclick(r, e.currentTarget, i) : undefined,
      }, cols.map(c => h('td', { class: c[2] }, c[1](r))))))))
  }

  function showError(e) {
    if (e instanceof ApiError && e.message === 'unauthorized') return
    $('error').textContent = e ? String(e.message || e) : ''
  }

  // ---------------------------------------------------------------- sign in
  async function signIn(candidate) {
    token = candidate
    try {
      const res = await fetch('/admin/status', { headers: { authorization: `Bearer ${token}` } })
      if (res.status === 401) throw new Error('That token is not the admin token (401).')
      if (res.status === 503) throw new Error((await res.json()).error)
      if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`)
      sessionStorage.setItem(KEY, token)
      $('signin').hidden = true
      $('nav').hidden = false
      $('controls').hidden = false
      await loadCollections()
      route()
    } catch (e) {
      token = ''
      $('signin-error').textContent = e.message
    }
  }

  function signOut(message) {
    token = ''
    sessionStorage.removeItem(KEY)
    stopTimers()
    for (const p of document.querySelectorAll('.page')) p.hidden = true
    $('nav').hidden = true
    $('controls').hidden = true
    $('signin').hidden = false
    $('signin-error').textContent = message || ''
  }

  function stopTimers() {
    clearInterval(liveTimer); liveTimer = null
    clearInterval(engineTimer); engineTimer = null
    const live = document.querySelector('#events-form [name=live]')
    if (live) live.checked = false
  }

  let names = []
  async function loadCollections() {
    const status = await api('/admin/status')
    names = [...Object.keys(status.collections || {}), ...Object.keys(status.views || {})]
    const sel = document.querySelector('#find-form [name=collection]')
    sel.replaceChildren(...names.map(n => h('option', {}, n)))
  }

  // ---------------------------------------------------------------- routing
  const PAGES = { overview, errors, events, query: () => {}, engine }
  function route() {
    if (!token) return
    const page = (location.hash || '#overview').slice(1)
    const name = Object.hasOwn(PAGES, page) ? page : 'overview'
    stopTimers()
    showError(null)
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name)
    for (const p of document.querySelectorAll('.page')) p.hidden = p.id !== `page-${name}`
    document.body.dataset.page = name
    PAGES[name]().catch(showError)
  }

  // ---------------------------------------------------------------- overview
  function chart(el, range, xs, series, yfmt) {
    el.replaceChildren()
    const width = Math.max(300, el.clientWidth || 600)
    const opts = {
      width, height: 220,
      scales: { x: { time: true, range: () => range } },
      series: [{}, ...series.map((s, i) => ({
        label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
        // Few values (a quiet range, a fresh store): draw each as a dot, or a lone one would not show.
        points: { show: s.values.filter(v => v !== null).length < 40, size: 6,
          fill: s.color || PALETTE[i % PALETTE.length] },
        value: (u, v) => (v === null || v === undefined ? '–' : yfmt(v)),
      }))],
      axes: [{}, { values: (u, vals) => vals.map(v => yfmt(v)), size: 60 }],
      legend: { live: true },
    }
    const c = new uPlot(opts, [xs, ...series.map(s => s.values)], el)
    el.dataset.drawn = String(xs.length)
    charts.push(c)
  }

  async function overview() {
    const r = range()
    const t0 = performance.now()
    const data = await api('/admin/overview', { from: r.from, to: r.to, script: script() })
    for (const c of charts) c.destroy()
    charts = []
    const perMin = data.bucketMs / 60_000
    // Each bucket is drawn at its middle, over the whole range asked for.
    const xs = data.times.map(t => (t + data.bucketMs / 2) / 1000)
    const span = [data.from / 1000, data.to / 1000]
    const names = Object.keys(data.scripts)
    updateScripts(names)
    const sumRows = names.map(n => ({ name: n, ...data.summary[n] }))
    $('overview-summary').replaceChildren(h('h2', {}, `Per script, ${fmtTime(data.from)} to ${fmtTime(data.to)}`
      + ` (buckets of ${data.bucketMs / 60_000} min)`), table(sumRows, [
      ['script', r => r.name],
      ['requests', r => fmtNum(r.requests), 'num'],
      ['errors', r => fmtNum(r.errors), 'num'],
      ['error rate', r => h('span', { class: r.errorRate > 0.05 ? 'bad' : 'good' }, `${(r.errorRate * 100).toFixed(2)}%`),
        'num'],
      ['p50 ms', r => fmtNum(r.p50), 'num'], ['p95 ms', r => fmtNum(r.p95), 'num'], ['p99 ms', r => fmtNum(r.p99), 'num'],
    ]))
    const per = (f, label) => names.map(n => ({ label: `${n}${label}`, values: f(data.scripts[n]) }))
    chart($('chart-requests'), span, xs, per(s => s.requests.map(v => v / perMin), ''), v => fmtNum(v))
    chart($('chart-errors'), span, xs,
      per(s => s.requests.map((n, i) => (n ? (100 * s.errors[i]) / n : null)), ''), v => `${fmtNum(v)}%`)
    const t = data.total
    chart($('chart-wall'), span, xs, [
      { label: 'p50', values: t.p50, color: '#10b981' }, { label: 'p95', values: t.p95, color: '#f38020' },
      { label: 'p99', values: t.p99, color: '#ef4444' },
    ], v => fmtNum(v))
    $('overview-stats').textContent = statsLine(data.stats, performance.now() - t0)
      + (data.sampled ? '; percentiles from a sample of each bucket' : '')
  }

  function updateScripts(list) {
    const sel = $('script')
    const have = new Set([...sel.options].map(o => o.value))
    for (const n of list) if (!have.has(n) && n !== '(unnamed)') sel.append(h('option', { value: n }, n))
  }

  // ---------------------------------------------------------------- errors
  async function errors() {
    const r = range()
    const t0 = performance.now()
    const data = await api('/admin/errors', { from: r.from, to: r.to, script: script() })
    $('error-detail').replaceChildren()
    $('errors-list').replaceChildren(
      h('h2', {}, `${fmtNum(data.total)} failing invocations in ${fmtNum(data.groups.length)} groups`
        + (data.omitted ? ` (${data.omitted} more groups not shown)` : '')),
      table(data.groups, [
        ['exception', g => h('b', {}, g.name)],
        ['message', g => g.message ?? '', 'cell'],
        ['count', g => fmtNum(g.count), 'num'],
        ['first seen', g => fmtTime(g.firstSeen)],
        ['last seen', g => fmtTime(g.lastSeen)],
        ['scripts', g => g.scripts.join(', ')],
        ['outcomes', g => Object.entries(g.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')],
      ], (g, tr) => {
        for (const x of tr.parentNode.children) x.classList.remove('selected')
        tr.classList.add('selected')
        errorDetail(g, r).catch(showError)
      }),
      h('p', { class: 'stats' }, statsLine(data.stats, performance.now() - t0)),
    )
  }

  /** The stack as a person reads it: some runtimes leave out its first line (name: message). */
  function stackText(ex) {
    const stack = String(ex.stack || '')
    return /^\s+at /.test(stack) || !stack ? `${ex.name}: ${ex.message}\n${stack}` : stack
  }

  async function errorDetail(g, r) {
    const filter = { eventTimestamp: { $gte: { $date: r.from }, $lt: { $date: r.to } } }
    if (g.name.startsWith('outcome: ')) {
      filter.outcome = g.name.slice(9)
      filter['exceptions.0'] = { $exists: false }
    } else {
      filter['exceptions.0.name'] = g.name
      if (g.message !== null) filter['exceptions.0.message'] = g.message
    }
    if (script()) filter.scriptName = script()
    const data = await api('/admin/find', { collection: 'TailEvents', filter, sort: { eventTimestamp: -1 }, limit: 50 })
    const sample = data.rows.find(x => x.exceptions && x.exceptions[0]) || data.rows[0]
    const ex = sample && sample.exceptions && sample.exceptions[0]
    $('error-detail').replaceChildren(
      h('h2', {}, `${g.name}${g.message ? `: ${g.message}` : ''}`),
      ex ? h('pre', { class: 'stack' }, stackText(ex)) : h('p', { class: 'stats' }, 'no stack'),
      h('h2', {}, `The requests behind it (newest ${data.rows.length})`),
      eventsTable(data.rows),
    )
  }

  // ---------------------------------------------------------------- events
  /** The search as POST /admin/events takes it (the server builds the filter, as for `parquedb tail`). */
  function eventSearch(from, to) {
    const f = new FormData($('events-form'))
    const body = { from, to, script: script(), limit: 200 }
    for (const k of ['outcome', 'level', 'status', 'text']) if (String(f.get(k) || '').trim()) body[k] = String(f.get(k))
    return body
  }

  const rowKey = r => JSON.stringify([r.eventTimestamp, r.scriptName, r.outcome, r.event, r.logs, r.exceptions])

  function eventsTable(rows) {
    return table(rows, [
      ['time', r => fmtTime(r.eventTimestamp)],
      ['script', r => r.scriptName || '(unnamed)'],
      ['outcome', r => h('span', { class: r.outcome === 'ok' ? '' : 'bad' }, r.outcome)],
      ['status', r => r.event?.response?.status ?? '', 'num'],
      ['request', r => (r.event?.request ? `${r.event.request.method} ${r.event.request.url}` : (r.event?.cron ?? '')),
        'cell'],
      ['colo', r => r.event?.request?.cf?.colo ?? ''],
      ['logs / exception', r => (r.exceptions?.[0] ? `${r.exceptions[0].name}: ${r.exceptions[0].message}`
        : (r.logs || []).map(l => `[${l.level}] ${[].concat(l.message).map(m => typeof m === 'string' ? m
          : JSON.stringify(m)).join(' ')}`).join(' · ')), 'cell'],
    ], (r, tr) => {
      const next = tr.nextSibling
      if (next && next.classList.contains('detail')) { next.remove(); return }
      tr.after(h('tr', { class: 'detail' }, h('td', { colspan: 7 }, h('pre', {}, JSON.stringify(r, null, 2)))))
    })
  }

  let shown = []
  async function events() {
    const r = range()
    const t0 = performance.now()
    const data = await api('/admin/events', eventSearch(r.from, r.to))
    shown = data.rows
    $('events-list').replaceChildren(eventsTable(shown))
    $('events-info').textContent = `${shown.length} newest events${shown.length === 200 ? ' (the first 200)' : ''}; `
      + statsLine(data.stats, performance.now() - t0)
  }

  /** Live: every 2 s, the last 2 minutes again (late arrivals included), new rows on top. */
  function live(on) {
    clearInterval(liveTimer)
    liveTimer = null
    if (!on) return
    const seen = new Set(shown.map(rowKey))
    const tick = async () => {
      const data = await api('/admin/events', { ...eventSearch(Date.now() - 120_000), limit: 500 })
      const fresh = data.rows.filter(x => !seen.has(rowKey(x)))
      for (const x of fresh) seen.add(rowKey(x))
      if (fresh.length) {
        shown = [...fresh, ...shown].sort((a, b) => (a.eventTimestamp < b.eventTimestamp ? 1 : -1)).slice(0, 500)
        $('events-list').replaceChildren(eventsTable(shown))
      }
      $('events-info').textContent = `live: ${shown.length} events, ${fresh.length} new at `
        + `${new Date().toLocaleTimeString()}; ${statsLine(data.stats)}`
    }
    liveTimer = setInterval(() => tick().catch(showError), 2000)
    tick().catch(showError)
  }

  // ---------------------------------------------------------------- query
  function resultTable(rows) {
    const cols = [...new Set(rows.flatMap(r => Object.keys(r)))]
    const show = v => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))
    return table(rows, cols.map(c => [c, r => show(r[c]), typeof rows[0]?.[c] === 'number' ? 'num' : 'cell']))
  }

  async function runQuery(kind) {
    $('query-error').textContent = ''
    $('query-stats').textContent = 'running…'
    const t0 = performance.now()
    try {
      let data
      if (kind === 'sql') {
        data = await api('/admin/sql', { query: document.querySelector('#sql-form [name=sql]').value })
      } else {
        const f = new FormData($('find-form'))
        const parse = (name, v) => {
          try { return v.trim() ? JSON.parse(v) : {} } catch (e) { throw new Error(`${name}: not JSON (${e.message})`) }
        }
        data = await api('/admin/find', {
          collection: f.get('collection'), filter: parse('filter', String(f.get('filter'))),
          ...parse('options', String(f.get('options'))),
        })
      }
      $('query-result').replaceChildren(resultTable(data.rows))
      $('query-stats').textContent = `${data.rows.length} rows; ${statsLine(data.stats, performance.now() - t0)}`
    } catch (e) {
      $('query-stats').textContent = ''
      $('query-error').textContent = e.message
    }
  }

  // ---------------------------------------------------------------- engine
  const PASSES = 'parquedb-passes'
  function rememberPass(p) {
    if (!p) return []
    let list = []
    try { list = JSON.parse(localStorage.getItem(PASSES) || '[]') } catch { list = [] }
    if (!list.some(x => x.at === p.at)) list.unshift(p)
    list = list.slice(0, 60)
    localStorage.setItem(PASSES, JSON.stringify(list))
    return list
  }

  const classA = ops => (ops.put || 0) + (ops.list || 0)
  const classB = ops => (ops.get || 0) + (ops.head || 0)
  const cost = ops => classA(ops) * 4.5e-6 + classB(ops) * 0.36e-6

  async function engineOnce() {
    const s = await api('/admin/status')
    const cols = Object.entries(s.collections)
    const backlog = cols.reduce((a, [, c]) => a + c.wal.segments, 0)
    const walBytes = cols.reduce((a, [, c]) => a + c.wal.bytes, 0)
    const oldest = Math.max(0, ...cols.map(([, c]) => c.wal.oldestAgeMs))
    const passes = rememberPass(s.lastPass)
    const recent = passes.filter(p => p.at > Date.now() - 3_600_000)
    const minutes = recent.length > 1 ? Math.max(1, (recent[0].at - recent[recent.length - 1].at) / 60_000) : 1
    const opsPerMin = recent.reduce((a, p) => a + classA(p.ops) + classB(p.ops), 0) / minutes
    const usdPerMonth = (recent.reduce((a, p) => a + cost(p.ops), 0) / minutes) * 60 * 24 * 30
    const card = (value, label) => h('div', { class: 'card' }, h('b', {}, value), h('span', {}, label))
    $('engine-cards').replaceChildren(
      card(fmtNum(backlog), `WAL segments waiting (${fmtBytes(walBytes)})`),
      card(oldest ? ago(oldest) : '0 s', 'age of the oldest uncompacted segment'),
      card(s.lastPass ? `${ago(Date.now() - s.lastPass.at)} ago` : 'never', 'last compaction pass'),
      card(fmtNum(opsPerMin), 'compaction R2 operations per minute'),
      card(fmtUsd(usdPerMonth), 'compaction R2 cost per month at this rate'),
      card(`v${s.manifestVersion}`, `manifest, ${fmtBytes(s.manifestBytes)}`),
    )
    $('engine-collections').replaceChildren(table(cols.map(([n, c]) => ({ n, ...c })), [
      ['collection', c => c.n], ['files', c => fmtNum(c.files), 'num'], ['L0 files', c => fmtNum(c.l0Files), 'num'],
      ['bytes', c => fmtBytes(c.bytes), 'num'], ['rows', c => fmtNum(c.rows), 'num'],
      ['partitions', c => fmtNum(c.partitions), 'num'], ['WAL segments', c => fmtNum(c.wal.segments), 'num'],
      ['WAL bytes', c => fmtBytes(c.wal.bytes), 'num'], ['awaiting deletion', c => fmtNum(c.wal.awaitingDeletion), 'num'],
      ['oldest', c => fmtTime(c.oldest)], ['newest', c => fmtTime(c.newest)],
    ]))
    $('engine-views').replaceChildren(table(Object.entries(s.views).map(([n, v]) => ({ n, ...v })), [
      ['view', v => v.n], ['refresh', v => v.refresh], ['files', v => fmtNum(v.files), 'num'],
      ['bytes', v => fmtBytes(v.bytes), 'num'], ['rows', v => fmtNum(v.rows), 'num'],
      ['partitions', v => fmtNum(v.partitions), 'num'], ['pending', v => fmtNum(v.pendingFiles), 'num'],
      ['rebuilding', v => fmtNum(v.rebuilding), 'num'], ['last refresh', v => fmtTime(v.lastRefresh)],
    ]))
    $('engine-passes').replaceChildren(table(passes, [
      ['at', p => fmtTime(p.at)], ['ms', p => fmtNum(p.durationMs), 'num'],
      ['segments', p => fmtNum(p.segmentsCompacted), 'num'], ['rows', p => fmtNum(p.rowsCompacted), 'num'],
      ['files written', p => fmtNum(p.filesWritten), 'num'], ['merges', p => fmtNum(p.partitionsMerged), 'num'],
      ['deleted', p => fmtNum(p.objectsDeleted), 'num'], ['backlog after', p => fmtNum(p.backlogSegments), 'num'],
      ['R2 A / B', p => `${classA(p.ops)} / ${classB(p.ops)}`, 'num'], ['cost', p => fmtUsd(cost(p.ops)), 'num'],
    ]))
  }

  async function engine() {
    await engineOnce()
    engineTimer = setInterval(() => engineOnce().catch(showError), 10_000)
  }

  // ---------------------------------------------------------------- wiring
  $('signin-form').addEventListener('submit', e => { e.preventDefault(); signIn($('token').value) })
  $('signout').addEventListener('click', () => signOut())
  $('refresh').addEventListener('click', route)
  $('range').addEventListener('change', route)
  $('script').addEventListener('change', route)
  window.addEventListener('hashchange', route)
  $('events-form').addEventListener('submit', e => {
    e.preventDefault()
    const on = e.currentTarget.elements.live.checked
    events().then(() => live(on)).catch(showError)
  })
  $('events-form').elements.live.addEventListener('change', e => live(e.currentTarget.checked))
  $('sql-form').addEventListener('submit', e => { e.preventDefault(); runQuery('sql') })
  $('find-form').addEventListener('submit', e => { e.preventDefault(); runQuery('find') })
  if (token) signIn(token)
})()
