// The performance targets of issues 6 and 19, checked against one run's figures.
// Reporting only: a MISS is printed, never turned into a failing exit code.
// A target the current mode cannot measure says which mode does.

export const GOALS = Object.freeze({
  throughput: 'sluice full policy >= 1.3 x baseline calls/s at saturation',
  addedP50: 'at 1,000 calls/s, sluice full policy adds <= 0.3 ms at p50 over direct',
  addedP99: 'at 1,000 calls/s, sluice full policy adds <= 1 ms at p99 over direct',
  redisTrips: '<= 1 Redis round trip per call (EVALSHA + EVAL calls / calls)',
  rss: 'sluice full policy RSS < 150 MB',
  rssGrowth: 'sluice full policy RSS grows < 10 % over the soak (first vs last minute)',
  errors: 'zero errors through sluice (non-2xx + socket errors)',
})

/** Issue 19's targets: ratios to the floor and the baseline, one pinned run, medians over rounds. */
export const GOALS_19 = Object.freeze({
  calls: 'issue 19: saturation, full policy >= 1.40 x baseline calls/s',
  cpu: 'issue 19: saturation, full policy CPU/call <= 1.35 x floor',
  rateCpu: 'issue 19: 1,000 calls/s, full policy CPU/call <= 1.20 x floor',
  p99: 'issue 19: 1,000 calls/s, full adds <= 1 ms at p99 over the floor (clean rounds)',
  p999: 'issue 19: 1,000 calls/s, full p99.9 <= 2 x floor (clean rounds)',
  mc: 'issue 19: 1,000 calls/s, full mark-compacts/min <= floor',
})

const RSS_LIMIT_MB = 150
const THROUGHPUT_RATIO = 1.3
const ADDED_P50_MS = 0.3
const ADDED_P99_MS = 1
const GROWTH_LIMIT_PCT = 10

const notHere = (goal, how) => ({ goal, status: 'n/a', figure: `not measured in this mode (${how})` })
const check = (goal, ok, figure) => (ok === null ? { goal, status: 'n/a', figure } : { goal, status: ok ? 'PASS' : 'MISS', figure })

/**
 * `facts` holds what the mode measured, each null when it did not run:
 * throughputRatio (median of full / baseline per round), addedP50Ms, addedP99Ms,
 * redisCallsPerCall, peakRssMb, rssGrowthPct, sluiceErrors.
 */
export function checkGoals (mode, facts) {
  const out = []
  out.push(mode === 'saturation'
    ? check(GOALS.throughput, facts.throughputRatio === null ? null : facts.throughputRatio >= THROUGHPUT_RATIO,
      facts.throughputRatio === null ? 'needs the full and baseline targets' : `${facts.throughputRatio.toFixed(2)} x baseline`)
    : notHere(GOALS.throughput, 'run without --rate/--soak'))
  if (mode === 'rate') {
    out.push(check(GOALS.addedP50, facts.addedP50Ms === null ? null : facts.addedP50Ms <= ADDED_P50_MS,
      facts.addedP50Ms === null ? 'needs the full and direct targets' : `+${facts.addedP50Ms.toFixed(3)} ms at ${facts.rate} calls/s`))
    out.push(check(GOALS.addedP99, facts.addedP99Ms === null ? null : facts.addedP99Ms <= ADDED_P99_MS,
      facts.addedP99Ms === null ? 'needs the full and direct targets' : `+${facts.addedP99Ms.toFixed(3)} ms at ${facts.rate} calls/s`))
  } else {
    out.push(notHere(GOALS.addedP50, 'run with --rate 1000'))
    out.push(notHere(GOALS.addedP99, 'run with --rate 1000'))
  }
  out.push(check(GOALS.redisTrips, facts.redisCallsPerCall === null ? null : facts.redisCallsPerCall <= 1,
    facts.redisCallsPerCall === null ? 'needs the full target' : `${facts.redisCallsPerCall.toFixed(3)} per call`))
  out.push(check(GOALS.rss, facts.peakRssMb === null ? null : facts.peakRssMb < RSS_LIMIT_MB,
    facts.peakRssMb === null ? 'needs the full target on Linux' : `peak ${facts.peakRssMb.toFixed(1)} MB`))
  out.push(mode === 'soak'
    ? check(GOALS.rssGrowth, facts.rssGrowthPct === null ? null : facts.rssGrowthPct < GROWTH_LIMIT_PCT,
      facts.rssGrowthPct === null ? 'too few RSS samples' : `${facts.rssGrowthPct.toFixed(1)} %`)
    : notHere(GOALS.rssGrowth, 'run with --soak 300'))
  out.push(check(GOALS.errors, facts.sluiceErrors === null ? null : facts.sluiceErrors === 0,
    facts.sluiceErrors === null ? 'no sluice target ran' : `${facts.sluiceErrors} errors`))
  if (mode === 'saturation') {
    out.push(ratioGoal(GOALS_19.calls, facts.fullVsBaselineCalls, r => r >= 1.4, 'baseline'))
    out.push(ratioGoal(GOALS_19.cpu, facts.fullVsFloorCpu, r => r <= 1.35, 'floor'))
  }
  if (mode === 'rate') {
    out.push(ratioGoal(GOALS_19.rateCpu, facts.fullVsFloorCpu, r => r <= 1.2, 'floor'))
    const p99 = facts.fullAddedP99OverFloorClean
    out.push(check(GOALS_19.p99, p99 == null ? null : p99.median <= 1,
      p99 == null ? 'no clean round with full and floor (or no stall meter)' : `${signed(p99.median)} ms (${signed(p99.min)} to ${signed(p99.max)}, ${p99.n} clean rounds)`))
    out.push(ratioGoal(GOALS_19.p999, facts.fullP999VsFloorClean, r => r <= 2, 'floor', 'no clean round with full and floor (or no stall meter)'))
    const a = facts.fullMarkCompactsPerMin
    const b = facts.floorMarkCompactsPerMin
    out.push(check(GOALS_19.mc, a == null || b == null ? null : a <= b,
      a == null || b == null ? 'needs the full and floor targets' : `full ${a.toFixed(1)}, floor ${b.toFixed(1)} per minute (all rounds pooled)`))
  }
  return out
}

function ratioGoal (goal, s, ok, ref, missing = `needs the full and ${ref} targets`) {
  if (s == null) return check(goal, null, missing)
  const range = s.n > 1 ? ` (${s.min.toFixed(2)}–${s.max.toFixed(2)}, ${s.n} rounds)` : ''
  return check(goal, ok(s.median), `${s.median.toFixed(2)} x ${ref}${range}`)
}

function signed (x) {
  return (x >= 0 ? '+' : '') + x.toFixed(3)
}
