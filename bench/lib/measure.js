// One measured run of one target: warm up (not counted), then drive it while
// reading the process's CPU time, memory and, for sluice with Redis, the
// script calls Redis served, before and after. CPU is the target process's
// own (utime + stime), so the harness's work never counts against it.
import { setTimeout as sleep } from 'node:timers/promises'
import { startStallMeter } from './loadgen.js'
import { cpuMicros, memory } from './proc-stats.js'
import { scanLog, truncateLog } from './sluice-log.js'

const MB = 1024 * 1024
/**
 * A load generator stops with calls still in flight. Before each reading the
 * target gets this long to finish them (and sluice to write their log lines),
 * so that the calls counted and the work counted are the same calls.
 */
const SETTLE_MS = 300

/**
 * `drive(seconds)` runs the load and resolves with
 * { elapsedMs, sent, responses, non2xx, socketErrors, latency: { p50, p99, p999 } }.
 */
/**
 * With `stallMeter` (the compiled loadgen), a stall meter runs on the
 * harness's core (the generator's) during the measured part.
 */
export async function measureRun ({ target, round, redis, pin, warmupSec, durationSec, drive, stallMeter }) {
  pin?.(target.pid)
  if (warmupSec > 0) {
    await drive(warmupSec)
    await sleep(SETTLE_MS)
  }
  if (target.logFile !== undefined) truncateLog(target.logFile)
  if (target.gcFile !== undefined && target.gcFile !== target.logFile) truncateLog(target.gcFile)
  const meter = stallMeter === undefined ? undefined : await startStallMeter(stallMeter)

  const usesRedis = (target.id === 'full' || target.id === 'weighted') && redis !== undefined
  const before = {
    cpu: cpuMicros(target.pid),
    harness: process.cpuUsage(),
    redis: usesRedis ? await redis.counters() : null,
    redisCpu: usesRedis ? cpuMicros(redis.pid) : null,
  }
  const load = await drive(durationSec)
  const harness = process.cpuUsage(before.harness)
  const stalls = meter === undefined ? null : await meter.stop()
  await sleep(SETTLE_MS)
  const cpu = cpuMicros(target.pid)
  const redisCounters = usesRedis ? await redis.counters() : null
  const redisCpu = usesRedis ? cpuMicros(redis.pid) : null
  const mem = memory(target.pid)

  const log = target.logFile === undefined ? null : await scanLog(target.logFile)
  const gc = target.gcFile === undefined ? null : target.gcFile === target.logFile ? log.gc : (await scanLog(target.gcFile)).gc
  const perMinute = (n) => (n === undefined ? null : n / (load.elapsedMs / 60_000))

  // Work is divided by the calls sent: those still in flight when the load stopped were served too.
  const calls = load.sent
  const perCall = (delta) => (delta === null || calls === 0 ? null : delta / calls)
  return {
    target: target.id,
    round,
    metrics: {
      // Answered calls only: a target that answers errors fast must not look fast.
      callsPerSec: (load.responses - load.non2xx) / (load.elapsedMs / 1000),
      p50: load.latency.p50,
      p99: load.latency.p99,
      p999: load.latency.p999,
      cpuUsPerCall: perCall(difference(cpu, before.cpu)),
      peakRssMb: mem.peakRss === null ? null : mem.peakRss / MB,
      rssMb: mem.rss === null ? null : mem.rss / MB,
      errors: load.non2xx + load.socketErrors,
      redisCallsPerCall: perCall(difference(redisCounters?.scriptCalls ?? null, before.redis?.scriptCalls ?? null)),
      // The harness's own INFO commands add two reads per run: noise below 0.001 per call.
      redisReadsPerCall: perCall(difference(redisCounters?.reads ?? null, before.redis?.reads ?? null)),
      redisCpuUsPerCall: perCall(difference(redisCpu, before.redisCpu)),
      // --trace-gc lines of the target's process during the measured run (its settle time included)
      scavengesPerMin: perMinute(gc?.scavenges),
      markCompactsPerMin: perMinute(gc?.markCompacts),
    },
    /** What the stall meter saw on the generator's core: { samples, stalls, maxOversleepMs, stalledMs }, or null. */
    stalls,
    detail: {
      sent: load.sent,
      responses: load.responses,
      non2xx: load.non2xx,
      socketErrors: load.socketErrors,
      elapsedMs: load.elapsedMs,
      // Share of one core the harness (load generator) used: near 100 % means it, not the target, set the pace.
      harnessCpuPct: (harness.user + harness.system) / 10 / load.elapsedMs,
      /** --trace-gc counts of the measured run: { scavenges, markCompacts }, or null for a process that is not Node */
      gc,
      log,
    },
  }
}

function difference (after, before) {
  return after === null || before === null ? null : after - before
}
