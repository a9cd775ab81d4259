// Medians with min-max over rounds, and ratios taken within a round: a target
// is compared with the direct and baseline runs of the same round, so a slow
// patch of the shared machine moves both sides of a ratio together.

/** { median, min, max, n } of the finite numbers in `values`; null when there are none. */
export function spread (values) {
  const xs = values.filter(v => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return null
  const mid = xs.length >> 1
  const median = xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length }
}

/**
 * For each metric, the spread over rounds of `target`'s value, and of its
 * per-round ratio to `reference`'s value (null where the reference did not run).
 * `samples` are the runs of one mode: { target, round, metrics: { name: number|null } }.
 */
export function summarize (samples, targetId, metricNames, referenceIds) {
  const own = samples.filter(s => s.target === targetId)
  const out = { values: {}, ratios: {} }
  for (const name of metricNames) out.values[name] = spread(own.map(s => s.metrics[name]))
  for (const ref of referenceIds) {
    out.ratios[ref] = {}
    for (const name of metricNames) {
      out.ratios[ref][name] = spread(own.map(s => {
        const r = samples.find(o => o.target === ref && o.round === s.round)
        return ratio(s.metrics[name], r?.metrics[name])
      }))
    }
  }
  return out
}

/**
 * Per-round differences target minus reference, for a metric (e.g. added
 * latency); with `keep`, only the rounds where `keep` holds for both runs.
 */
export function differences (samples, targetId, referenceId, name, keep = () => true) {
  return spread(samples.filter(s => s.target === targetId).map(s => {
    const r = samples.find(o => o.target === referenceId && o.round === s.round)
    if (!keep(s) || r === undefined || !keep(r)) return null
    const a = s.metrics[name]
    const b = r?.metrics[name]
    return typeof a === 'number' && typeof b === 'number' ? a - b : null
  }))
}

function ratio (a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return null
  return a / b
}

/** Each round runs every target once, starting one further along: A B C, B C A, C A B. */
export function rotation (ids, round) {
  const k = round % ids.length
  return [...ids.slice(k), ...ids.slice(0, k)]
}

/** Every run of `rounds` rounds in rotation order: { target, round } for A B C, B C A, ... */
export function * interleavedRuns (targets, rounds) {
  const ids = targets.map(t => t.id)
  for (let round = 0; round < rounds; round++) {
    for (const id of rotation(ids, round)) yield { target: targets.find(t => t.id === id), round }
  }
}

/** What the goals read off the sluice runs, whatever drove them: Redis calls and RSS of the full policy, errors of both sluice targets. */
export function sluiceFacts (samples) {
  const full = samples.filter(s => s.target === 'full')
  const sluice = samples.filter(s => s.target === 'full' || s.target === 'weighted' || s.target === 'passthrough')
  return {
    redisCallsPerCall: spread(full.map(s => s.metrics.redisCallsPerCall))?.median ?? null,
    peakRssMb: spread(full.map(s => s.metrics.peakRssMb))?.max ?? null,
    sluiceErrors: sluice.length === 0 ? null : sluice.reduce((n, s) => n + s.metrics.errors, 0),
  }
}

/**
 * GCs per minute of `targetId` pooled over all its runs (total count ÷ total
 * time): a short run sees 0 or 1 mark-compact, so a median of per-run rates is
 * too coarse. Null when the target is not a Node process.
 */
export function pooledGcPerMin (samples, targetId, kind) {
  const own = samples.filter(s => s.target === targetId && s.detail.gc !== null && s.detail.gc !== undefined)
  if (own.length === 0) return null
  const minutes = own.reduce((n, s) => n + s.detail.elapsedMs, 0) / 60_000
  return minutes === 0 ? null : own.reduce((n, s) => n + s.detail.gc[kind], 0) / minutes
}
