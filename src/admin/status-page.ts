// GET /status: one self-contained page for people (inline CSS and script, no
// external asset, nothing to build). It reads /status.json every second and
// redraws; text is set with textContent only, so a vendor or bucket name can
// never become markup.
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice status</title>
<style>
  :root { color-scheme: light; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 20px 24px; color: #1f2328; background: #f6f8fa; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; margin-bottom: 16px; }
  .meta { color: var(--muted); }
  .stale { color: var(--bad); font-weight: 600; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
  .card h2 { font-size: 16px; margin: 0 0 10px; display: flex; justify-content: space-between; align-items: center; gap: 8px; }
  .badge { font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 999px; color: #fff; text-transform: uppercase; letter-spacing: .03em; }
  .closed { background: var(--ok); } .halfOpen { background: var(--warn); } .open { background: var(--bad); }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
  dt { color: var(--muted); } dd { margin: 0; font-variant-numeric: tabular-nums; }
  .bucket { margin: 6px 0; }
  .bucket .label { display: flex; justify-content: space-between; font-variant-numeric: tabular-nums; }
  .bar { height: 10px; background: #eaeef2; border-radius: 5px; overflow: hidden; margin-top: 2px; }
  .fill { height: 100%; background: var(--ok); transition: width .3s; }
  .fill.low { background: var(--warn); } .fill.empty { background: var(--bad); }
  .cred-bad { color: var(--bad); font-weight: 600; } .cred-ok { color: var(--ok); }
  .fail { color: var(--bad); } .ok { color: var(--ok); }
  ul.problems { margin: 4px 0 0; padding-left: 18px; color: var(--bad); }
</style>
</head>
<body>
<header>
  <h1>sluice</h1>
  <span class="meta" id="updated">loading…</span>
  <span class="meta" id="redis"></span>
  <span class="meta" id="reload"></span>
  <span class="meta" id="jobs"></span>
</header>
<div id="reload-problems"></div>
<main class="grid" id="vendors"></main>
<script>
(function () {
  'use strict'
  var vendorsEl = document.getElementById('vendors')
  function el (tag, cls, text) {
    var e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }
  function pct (x) { return (Math.round(x * 1000) / 10) + ' %' }
  function ms (x) { return x === null ? '–' : (x < 10 ? x.toFixed(1) : Math.round(x)) + ' ms' }
  function num (x) { return x === null ? '?' : (Math.round(x * 10) / 10).toString() }
  var BREAKER = { closed: 'closed', halfOpen: 'half-open', open: 'open' }

  function vendorCard (v) {
    var card = el('section', 'card')
    card.setAttribute('data-vendor', v.name)
    var h = el('h2', '', v.name)
    var badge = el('span', 'badge breaker ' + v.breaker, BREAKER[v.breaker] || v.breaker)
    badge.title = 'circuit breaker'
    h.appendChild(badge)
    card.appendChild(h)
    var dl = el('dl')
    function row (term, value, cls) {
      dl.appendChild(el('dt', '', term))
      dl.appendChild(el('dd', cls, value))
    }
    row('calls/s (1 min)', num(v.callsPerSecond), 'rate')
    row('errors (5xx, 1 min)', pct(v.errorShare) + ' of ' + v.callsLastMinute, 'errors')
    row('p50 / p99', ms(v.p50Ms) + ' / ' + ms(v.p99Ms), 'latency')
    row('credentials', v.credentials.available ? 'available' : 'unavailable: ' + v.credentials.unavailable.join(', '),
      'credentials ' + (v.credentials.available ? 'cred-ok' : 'cred-bad'))
    card.appendChild(dl)
    v.buckets.forEach(function (b) {
      var box = el('div', 'bucket')
      box.setAttribute('data-bucket', b.bucket)
      var label = el('div', 'label')
      label.appendChild(el('span', 'name', 'bucket ' + b.bucket + (b.keys > 1 ? ' (lowest of ' + b.keys + ' keys)' : '')))
      label.appendChild(el('span', 'level', num(b.tokens) + ' / ' + b.capacity))
      box.appendChild(label)
      var bar = el('div', 'bar')
      var share = b.tokens === null ? 0 : Math.max(0, Math.min(1, b.tokens / b.capacity))
      var fill = el('div', 'fill' + (share < 0.05 ? ' empty' : share < 0.25 ? ' low' : ''))
      fill.style.width = (share * 100) + '%'
      bar.appendChild(fill)
      box.appendChild(bar)
      card.appendChild(box)
    })
    if (v.buckets.length === 0) card.appendChild(el('div', 'meta', 'no rate limit'))
    return card
  }

  function render (s) {
    document.getElementById('updated').textContent = 'updated ' + new Date(s.at).toLocaleTimeString() + (s.draining ? ' · draining' : '') + ' · ' + s.inFlight + ' in flight'
    document.getElementById('updated').className = 'meta'
    document.getElementById('redis').textContent = s.redis.configured ? ('Redis ' + (s.redis.up ? 'up' : 'DOWN')) : 'local buckets (no Redis)'
    var r = document.getElementById('reload')
    var problems = document.getElementById('reload-problems')
    problems.textContent = ''
    if (s.lastReload === null) {
      r.textContent = 'no reload since start'
      r.className = 'meta'
    } else {
      r.textContent = 'last reload ' + new Date(s.lastReload.at).toLocaleTimeString() + ': ' + s.lastReload.result
      r.className = 'meta ' + (s.lastReload.result === 'success' ? 'ok' : 'fail')
      if (s.lastReload.problems.length > 0) {
        var ul = el('ul', 'problems')
        s.lastReload.problems.forEach(function (p) { ul.appendChild(el('li', '', p)) })
        problems.appendChild(ul)
      }
    }
    document.getElementById('jobs').textContent = s.jobs === null ? '' : ('jobs: ' + s.jobs.pending + ' pending, ' + s.jobs.dead + ' dead')
    var cards = s.vendors.map(vendorCard)
    vendorsEl.replaceChildren.apply(vendorsEl, cards)
  }

  function tick () {
    fetch('status.json', { cache: 'no-store' })
      .then(function (res) { if (!res.ok) throw new Error(res.status); return res.json() })
      .then(render)
      .catch(function () {
        var u = document.getElementById('updated')
        u.textContent = 'sluice is not answering'
        u.className = 'stale'
      })
      .then(function () { setTimeout(tick, 1000) })
  }
  tick()
})()
</script>
</body>
</html>
`
