// The harness's flags, parsed once into a frozen object. The load flags are
// fixed by default (50 connections, pipelining 1) so that runs compare.
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { OPTIONAL_TARGET_IDS, REF_TARGET_IDS, TARGET_IDS } from './targets.js'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

export { TARGET_IDS }

export const USAGE = `usage: node bench/run.js [flags]
  (no mode flag)      saturation: every target as fast as it goes, A B A B rounds
  --rate N            fixed rate: N calls/s to every target, added latency against direct
  --soak S            soak: sluice with the full policy at a fixed rate (--rate, default 1000) for S seconds
  --duration S        measured seconds per run (default 10; soak: see --soak)
  --warmup S          unmeasured seconds before each run (default 2)
  --rounds N          rounds; each round runs every target once, order rotated (default 3)
  --connections N     connections (default 50)
  --only a,b          targets to run: ${TARGET_IDS.join(', ')}
  --no-wrk            skip wrk even when it is on PATH
  --no-loadgen        do not compile and use the C load generator and stall meter (bench/gen/loadgen.c)
  --pin               pin the process under test to CPU 1 and everything else to CPU 0 (taskset)
  --ref DIR           also run the full policy from another build's dist/ folder (target full-ref): an A/B in one run
  --cpu-prof          run sluice with --cpu-prof; profiles land in the output folder
  --out DIR           where latest*.md / latest*.json go (default bench/results)
  --smoke             prove the harness works: 1 round, tiny durations, 10 connections`

const DEFAULT_OUT = fileURLToPath(new URL('../results', import.meta.url))

export class OptionsError extends Error {}

export function parseOptions (argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' },
      soak: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      'no-wrk': { type: 'boolean' },
      'no-loadgen': { type: 'boolean' },
      pin: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      ref: { type: 'string' },
      out: { type: 'string' },
      smoke: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const smoke = values.smoke === true
  const rate = optionalNumber('--rate', values.rate, { min: 1 })
  const soakSec = optionalNumber('--soak', values.soak, { min: 1 })
  const mode = soakSec !== undefined ? 'soak' : rate !== undefined ? 'rate' : 'saturation'
  // The smoke leaves out the targets that need a tool CI may not have (nginx, haproxy).
  const ref = values.ref === undefined ? undefined : resolve(values.ref)
  if (ref !== undefined && !existsSync(join(ref, 'cli.js'))) throw new OptionsError(`--ref: no cli.js in "${ref}" (name a built dist/ folder)`)
  const runnable = TARGET_IDS.filter(id => ref !== undefined || !REF_TARGET_IDS.includes(id))
  const defaults = smoke ? runnable.filter(id => !OPTIONAL_TARGET_IDS.includes(id)) : runnable
  const only = values.only === undefined ? defaults : values.only.split(',').map(s => s.trim()).filter(Boolean)
  for (const id of only) {
    if (!TARGET_IDS.includes(id)) throw new OptionsError(`--only: unknown target "${id}" (known: ${TARGET_IDS.join(', ')})`)
  }
  if (only.length === 0) throw new OptionsError('--only: name at least one target')
  for (const id of only) {
    if (!runnable.includes(id)) throw new OptionsError(`--only: target "${id}" needs --ref DIR`)
  }
  return Object.freeze({
    help: values.help === true,
    mode,
    smoke,
    rate: rate ?? 1000,
    soakSec: soakSec ?? 0,
    durationSec: optionalNumber('--duration', values.duration, { min: 0.1 }) ?? (smoke ? 0.4 : 10),
    warmupSec: optionalNumber('--warmup', values.warmup, { min: 0 }) ?? (smoke ? 0.1 : 2),
    rounds: optionalNumber('--rounds', values.rounds, { min: 1, integer: true }) ?? (smoke ? 1 : 3),
    connections: optionalNumber('--connections', values.connections, { min: 1, integer: true }) ?? (smoke ? 10 : 50),
    pipelining: 1,
    // A soak needs only the full policy; keep the others out of its process list.
    targets: Object.freeze(mode === 'soak' ? ['full'] : TARGET_IDS.filter(id => only.includes(id))),
    wrk: values['no-wrk'] !== true && !smoke,
    loadgen: values['no-loadgen'] !== true,
    pin: values.pin === true,
    cpuProf: values['cpu-prof'] === true,
    ref,
    outDir: values.out ?? DEFAULT_OUT,
    /** file name stem of the results: latest.md, latest-rate.md, latest-soak.md (smoke*.md for --smoke) */
    resultStem: (smoke ? 'smoke' : 'latest') + (mode === 'saturation' ? '' : `-${mode}`),
  })
}

function optionalNumber (name, text, { min, integer = false }) {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new OptionsError(`${name}: "${text}" is not ${integer ? 'an integer' : 'a number'} >= ${min}`)
  }
  return n
}
