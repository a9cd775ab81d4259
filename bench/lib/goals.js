// The performance targets of issue 6, checked against one run's figures.
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
  return out
}
