// The report: one markdown table per load generator (median over rounds with
// min-max; below each target, its per-round ratios to direct and to the
// baseline), a few notes, and the targets of issue 6 with PASS or MISS.
import { pooledGcPerMin } from './stats.js'
import { TARGET_LABELS } from './targets.js'

const COLUMNS = [
  { key: 'callsPerSec', title: 'calls/s', digits: 0 },
  { key: 'p50', title: 'p50 ms', digits: 3 },
  { key: 'p99', title: 'p99 ms', digits: 3 },
  { key: 'p999', title: 'p99.9 ms', digits: 3 },
  { key: 'cpuUsPerCall', title: 'CPU µs/call', digits: 1 },
  { key: 'peakRssMb', title: 'peak RSS MB', digits: 1 },
  { key: 'scavengesPerMin', title: 'scavenges/min', digits: 0 },
  { key: 'markCompactsPerMin', title: 'mark-compacts/min', digits: 1 },
]
const REFERENCES = ['direct', 'floor', 'baseline']

export function renderReport (result, meta) {
  const parts = [`# sluice benchmark: ${title(result)}`, '', renderMeta(meta), '']
  if (result.mode === 'soak') {
    parts.push(renderSoak(result))
  } else {
    for (const [generator, summary] of Object.entries(result.summaries)) {
      parts.push(`## ${generator}${result.mode === 'rate' ? ` at ${result.rate} calls/s` : ''}`, '')
      parts.push(renderTable(result, generator, summary), '')
    }
    if (result.mode === 'rate') parts.push(renderAdded(result), '')
  }
  parts.push(renderNotes(result), '')
  parts.push(renderGoals(result.goals), '')
  return parts.join('\n')
}

function title (result) {
  if (result.mode === 'rate') return `fixed rate, ${result.rate} calls/s`
  if (result.mode === 'soak') return `soak, ${result.soakSec} s at ${result.rate} calls/s`
  return 'saturation'
}

function renderMeta (meta) {
  const o = meta.options
  const load = `load average ${meta.loadAverage.before.map(n => n.toFixed(2)).join(' ')} before, ${meta.loadAverage.after.map(n => n.toFixed(2)).join(' ')} after`
  return [
    `${meta.date} · commit ${meta.commit} · node ${meta.node} · ${meta.cpus} × ${meta.cpuModel}`,
    `${o.mode === 'soak' ? `1 run × ${o.soakSec}` : `${o.rounds} round(s) × ${o.durationSec}`} s measured (+${o.warmupSec} s warm-up) · ${o.connections} connections · pipelining ${o.pipelining} · 1 KB responses · ${meta.pinned ? 'pinned: target on CPU 1, the rest on CPU 0' : 'unpinned'}`,
    load,
  ].join('  \n')
}

function renderTable (result, generator, summary) {
  const header = ['target', ...COLUMNS.map(c => c.title), 'errors']
  const rows = [header, header.map(() => '---')]
  const samples = result.runs[generator]
  for (const id of result.targetIds) {
    const s = summary[id]
    const errors = samples.filter(x => x.target === id).reduce((n, x) => n + x.metrics.errors, 0)
    rows.push([TARGET_LABELS[id], ...COLUMNS.map(c => spreadCell(s.values[c.key], c.digits)), String(errors)])
    for (const ref of REFERENCES) {
      if (ref === id || !result.targetIds.includes(ref) || s.ratios[ref] === undefined) continue
      rows.push([`  ÷ ${ref}`, ...COLUMNS.map(c => spreadCell(s.ratios[ref][c.key], 2, '×')), ''])
    }
  }
  return rows.map(r => `| ${r.join(' | ')} |`).join('\n')
}

function renderAdded (result) {
  const parts = [addedTable(result, result.added, '## added latency (per round, target minus reference; median (min–max))')]
  const runs = Object.values(result.runs)[0]
  const watched = runs.filter(s => s.stalls !== null && s.stalls !== undefined)
  if (watched.length > 0) {
    const clean = watched.filter(s => s.stalls.stalls === 0).length
    parts.push('', addedTable(result, result.addedClean,
      `## added latency, clean rounds only (the stall meter on the generator's core saw no stall over 2 ms in either run compared; ${clean} of ${watched.length} runs clean)`))
  }
  return parts.join('\n')
}

function addedTable (result, added, heading) {
  const refs = ['direct', 'floor'].filter(r => result.targetIds.includes(r))
  const header = ['target']
  for (const ref of refs) header.push(`added p50 ms vs ${ref}`, `added p99 ms vs ${ref}`, `added p99.9 ms vs ${ref}`)
  const rows = [header, header.map(() => '---')]
  for (const id of result.targetIds) {
    if (id === 'direct') continue
    const row = [TARGET_LABELS[id]]
    for (const ref of refs) {
      if (ref === id) row.push('—', '—', '—')
      else row.push(signedCell(added[id][ref].p50), signedCell(added[id][ref].p99), signedCell(added[id][ref].p999))
    }
    rows.push(row)
  }
  return [heading, '', rows.map(r => `| ${r.join(' | ')} |`).join('\n')].join('\n')
}

function renderSoak (result) {
  const s = result.runs.paced[0]
  const m = s.metrics
  const rows = [
    ['figure', 'value'],
    ['---', '---'],
    ['calls', String(s.detail.responses)],
    ['calls/s', fixed(m.callsPerSec, 0)],
    ['p50 / p99 / p99.9 ms', `${fixed(m.p50, 3)} / ${fixed(m.p99, 3)} / ${fixed(m.p999, 3)}`],
    ['CPU µs/call', fixed(m.cpuUsPerCall, 1)],
    [`RSS MB, mean of the first ${result.windowSec} s`, fixed(result.rss.firstWindowMb, 1)],
    [`RSS MB, mean of the last ${result.windowSec} s`, fixed(result.rss.lastWindowMb, 1)],
    ['RSS growth', result.rss.growthPct === null ? 'n/a' : `${result.rss.growthPct.toFixed(1)} %`],
    ['peak RSS MB', fixed(m.peakRssMb, 1)],
    ['errors', String(m.errors)],
  ]
  const series = result.rssSamples.map(x => `${Math.round(x.t)}s ${x.rssMb.toFixed(0)}`).join(', ')
  return [`## ${TARGET_LABELS.full}`, '', rows.map(r => `| ${r.join(' | ')} |`).join('\n'), '', `RSS MB over time: ${series || 'n/a'}`, ''].join('\n')
}

function renderNotes (result) {
  const lines = ['## notes', '']
  for (const s of result.skipped ?? []) lines.push(`- skipped ${s.label}: ${s.why}`)
  if (result.loadgen?.used === false) lines.push(`- C load generator not used (${result.loadgen.why}): Node generators only, no stall meter`)
  for (const [generator, samples] of Object.entries(result.runs)) {
    for (const id of result.targetIds) {
      const own = samples.filter(s => s.target === id)
      if (own.length === 0) continue
      const facts = []
      const harness = own.map(s => s.detail.harnessCpuPct)
      if (generator === 'autocannon' || generator === 'paced') facts.push(`harness CPU ${range(harness, 0)} % of a core`)
      const stalls = own.map(s => s.stalls).filter(x => x !== null && x !== undefined)
      if (stalls.length > 0) {
        facts.push(`stall meter: ${stalls.filter(x => x.stalls === 0).length} of ${stalls.length} runs clean; stalls over 2 ms per run ${range(stalls.map(x => x.stalls), 0)}, longest ${range(stalls.map(x => x.maxOversleepMs), 1)} ms`)
      }
      const scavenges = pooledGcPerMin(samples, id, 'scavenges')
      if (scavenges !== null) facts.push(`GC over all rounds pooled: ${fixed(scavenges, 0)} scavenges/min, ${fixed(pooledGcPerMin(samples, id, 'markCompacts'), 1)} mark-compacts/min`)
      const redisCalls = own.map(s => s.metrics.redisCallsPerCall)
      if (redisCalls.some(v => v !== null)) {
        facts.push(
          `Redis script calls/call ${range(redisCalls, 3)}`,
          `Redis socket reads/call ${range(own.map(s => s.metrics.redisReadsPerCall), 3)}`,
          `Redis CPU µs/call ${range(own.map(s => s.metrics.redisCpuUsPerCall), 1)}`
        )
      }
      const logs = own.map(s => s.detail.log).filter(l => l !== null)
      if (logs.length > 0) {
        const logged = logs.reduce((n, l) => n + l.requestLines, 0)
        const sent = own.reduce((n, s) => n + s.detail.sent, 0)
        const problems = logs.reduce((n, l) => n + l.problemLines, 0)
        // wrk counts completed calls only: the few in flight at its end are logged but not counted.
        facts.push(`request log lines ${logged} for ${sent} calls ${generator === 'wrk' ? 'completed' : 'sent'}`)
        facts.push(`policy reloads ${logs.reduce((n, l) => n + (l.reloads ?? 0), 0)}`)
        if (problems > 0) facts.push(`${problems} warn/error log lines: ${[...new Set(logs.flatMap(l => l.problemMessages))].join('; ')}`)
      }
      const socketErrors = own.reduce((n, s) => n + s.detail.socketErrors, 0)
      const non2xx = own.reduce((n, s) => n + s.detail.non2xx, 0)
      if (socketErrors + non2xx > 0) facts.push(`errors: ${non2xx} non-2xx, ${socketErrors} socket errors/timeouts`)
      if (facts.length > 0) lines.push(`- ${generator}, ${TARGET_LABELS[id]}: ${facts.join('; ')}`)
    }
  }
  return lines.join('\n')
}

function renderGoals (goals) {
  const rows = [['target', 'result', 'figure'], ['---', '---', '---']]
  for (const g of goals) rows.push([g.goal, g.status, g.figure])
  return ['## targets', '', rows.map(r => `| ${r.join(' | ')} |`).join('\n')].join('\n')
}

function spreadCell (s, digits, suffix = '') {
  if (s === null || s === undefined) return 'n/a'
  const v = `${fixed(s.median, digits)}${suffix}`
  if (s.n < 2) return v
  return `${v} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`
}

function signedCell (s) {
  if (s === null || s === undefined) return 'n/a'
  const sign = (x) => (x >= 0 ? '+' : '') + x.toFixed(3)
  return s.n < 2 ? sign(s.median) : `${sign(s.median)} (${sign(s.min)}–${sign(s.max)})`
}

function range (values, digits) {
  const xs = values.filter(v => typeof v === 'number' && Number.isFinite(v))
  if (xs.length === 0) return 'n/a'
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  return lo === hi || fixed(lo, digits) === fixed(hi, digits) ? fixed(lo, digits) : `${fixed(lo, digits)}–${fixed(hi, digits)}`
}

function fixed (n, digits) {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a'
  return digits === 0 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits)
}
