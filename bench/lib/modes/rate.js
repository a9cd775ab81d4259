// Fixed rate: every target at the same calls/s (open loop), A B A B rounds as
// in saturation. The figure that matters is the latency a proxy adds to a
// call: each round's p50, p99 and p99.9 minus direct's (and the floor's) in
// the same round. With the C generator a stall meter runs on the generator's
// core during each run; a comparison counts as clean when neither run it
// compares saw a stall, and clean rounds are reported apart.
import { setTimeout as sleep } from 'node:timers/promises'
import { runLoadgen } from '../loadgen.js'
import { measureRun } from '../measure.js'
import { paced } from '../paced.js'
import { differences, interleavedRuns, pooledGcPerMin, sluiceFacts, summarize } from '../stats.js'
import { progress } from '../progress.js'

export const RATE_METRICS = Object.freeze(['callsPerSec', 'p50', 'p99', 'p999', 'cpuUsPerCall', 'peakRssMb', 'scavengesPerMin', 'markCompactsPerMin'])
export const REFERENCES = Object.freeze(['direct', 'floor', 'baseline'])
const ADDED = Object.freeze(['p50', 'p99', 'p999'])
const PAUSE_BETWEEN_RUNS_MS = 300

/** A run the stall meter watched and saw no stall over its threshold. */
export const isClean = (sample) => sample.stalls !== null && sample.stalls !== undefined && sample.stalls.stalls === 0

export async function runRate ({ options, targets, redis, pin, loadgen }) {
  const samples = []
  const ids = targets.map(t => t.id)
  const generator = loadgen === undefined ? 'paced' : 'loadgen'
  for (const { target, round } of interleavedRuns(targets, options.rounds)) {
    const sample = await measureRun({
      target,
      round,
      redis,
      pin,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      stallMeter: loadgen,
      drive: (sec) => loadgen === undefined
        ? paced({ url: target.url, rate: options.rate, durationSec: sec, connections: options.connections })
        : runLoadgen({ path: loadgen, url: target.url, rate: options.rate, durationSec: sec, connections: options.connections }),
    })
    samples.push(sample)
    const stall = sample.stalls === null ? '' : `; ${sample.stalls.stalls} stalls over 2 ms (max ${sample.stalls.maxOversleepMs.toFixed(1)} ms)`
    progress(`round ${round + 1}/${options.rounds} ${target.label}: p50 ${sample.metrics.p50} ms, p99 ${sample.metrics.p99} ms at ${options.rate} calls/s${stall}`)
    await sleep(PAUSE_BETWEEN_RUNS_MS)
  }
  const summary = {}
  const added = {}
  const addedClean = {}
  for (const id of ids) {
    summary[id] = summarize(samples, id, RATE_METRICS, REFERENCES)
    added[id] = {}
    addedClean[id] = {}
    for (const ref of REFERENCES) {
      added[id][ref] = {}
      addedClean[id][ref] = {}
      for (const name of ADDED) {
        added[id][ref][name] = differences(samples, id, ref, name)
        addedClean[id][ref][name] = differences(samples, id, ref, name, isClean)
      }
    }
  }
  const full = summary.full
  return {
    mode: 'rate',
    rate: options.rate,
    generator,
    targetIds: ids,
    runs: { [generator]: samples },
    summaries: { [generator]: summary },
    added,
    addedClean,
    facts: {
      rate: options.rate,
      addedP50Ms: added.full?.direct.p50?.median ?? null,
      addedP99Ms: added.full?.direct.p99?.median ?? null,
      fullVsFloorCpu: full?.ratios.floor.cpuUsPerCall ?? null,
      fullAddedP99OverFloorClean: addedClean.full?.floor.p99 ?? null,
      fullP999VsFloorClean: summarize(samples.filter(isClean), 'full', ['p999'], ['floor']).ratios.floor.p999,
      fullMarkCompactsPerMin: pooledGcPerMin(samples, 'full', 'markCompacts'),
      floorMarkCompactsPerMin: pooledGcPerMin(samples, 'floor', 'markCompacts'),
      ...sluiceFacts(samples),
    },
  }
}
