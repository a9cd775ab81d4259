// Saturation: every target driven as fast as it answers, A B A B: each round
// runs every target once, the order rotated from round to round, so a slow
// patch of the machine is spread over all of them rather than landing on one.
import { setTimeout as sleep } from 'node:timers/promises'
import { measureRun } from '../measure.js'
import { saturate } from '../saturate.js'
import { interleavedRuns, sluiceFacts, summarize } from '../stats.js'
import { runWrk, wrkPath } from '../wrk.js'
import { runLoadgen } from '../loadgen.js'
import { progress } from '../progress.js'

export const SATURATION_METRICS = Object.freeze(['callsPerSec', 'p50', 'p99', 'p999', 'cpuUsPerCall', 'peakRssMb', 'scavengesPerMin', 'markCompactsPerMin'])
export const REFERENCES = Object.freeze(['direct', 'floor', 'baseline'])
const PAUSE_BETWEEN_RUNS_MS = 300

export async function runSaturation ({ options, targets, redis, pin, loadgen }) {
  const wrk = options.wrk ? wrkPath() : undefined
  const runs = { autocannon: [], loadgen: [], wrk: [] }
  const ids = targets.map(t => t.id)
  for (const { target, round } of interleavedRuns(targets, options.rounds)) {
    const sample = await measureRun({
      target,
      round,
      redis,
      pin,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      drive: (sec) => saturate({ url: target.url, connections: options.connections, pipelining: options.pipelining, durationSec: sec }),
    })
    runs.autocannon.push(sample)
    progress(`round ${round + 1}/${options.rounds} ${target.label}: ${Math.round(sample.metrics.callsPerSec)} calls/s (autocannon)`)
    await sleep(PAUSE_BETWEEN_RUNS_MS)
    if (loadgen !== undefined) {
      // The C generator, closed loop, in a process of its own: lighter than autocannon.
      const g = await measureRun({
        target,
        round,
        redis,
        pin,
        warmupSec: 0, // just warmed by autocannon
        durationSec: options.durationSec,
        drive: (sec) => runLoadgen({ path: loadgen, url: target.url, durationSec: sec, connections: options.connections }),
      })
      runs.loadgen.push(g)
      progress(`round ${round + 1}/${options.rounds} ${target.label}: ${Math.round(g.metrics.callsPerSec)} calls/s (loadgen)`)
      await sleep(PAUSE_BETWEEN_RUNS_MS)
    }
    if (wrk !== undefined) {
      const w = await measureRun({
        target,
        round,
        redis,
        pin,
        warmupSec: 0, // just warmed by autocannon
        durationSec: options.durationSec,
        drive: (sec) => runWrk({ path: wrk, url: target.url, connections: options.connections, durationSec: sec }),
      })
      runs.wrk.push(w)
      progress(`round ${round + 1}/${options.rounds} ${target.label}: ${Math.round(w.metrics.callsPerSec)} calls/s (wrk)`)
      await sleep(PAUSE_BETWEEN_RUNS_MS)
    }
  }
  const summaries = {}
  for (const [generator, samples] of Object.entries(runs)) {
    if (samples.length === 0) continue
    summaries[generator] = {}
    for (const id of ids) summaries[generator][id] = summarize(samples, id, SATURATION_METRICS, REFERENCES)
  }
  return { mode: 'saturation', targetIds: ids, runs, summaries, facts: saturationFacts(runs.autocannon, summaries.autocannon, summaries.loadgen) }
}

function saturationFacts (samples, summary, loadgenSummary) {
  // Issue 19's ratios from the C generator when it ran (lighter, its own process), else autocannon.
  const s = loadgenSummary ?? summary
  return {
    throughputRatio: summary.full?.ratios.baseline.callsPerSec?.median ?? null,
    fullVsBaselineCalls: s.full?.ratios.baseline.callsPerSec ?? null,
    fullVsFloorCpu: s.full?.ratios.floor.cpuUsPerCall ?? null,
    ...sluiceFacts(samples),
  }
}
