// npm run bench: starts its own upstream, Redis and each proxy under test as
// child processes, drives them from this process, prints a markdown report
// and writes it (and its JSON) to bench/results/. See bench/README.md.
//
// Exits 0 whatever the figures are (a missed target is reported, not failed);
// non-zero only when the harness itself could not run.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stopAll } from './lib/children.js'
import { checkGoals } from './lib/goals.js'
import { buildLoadgen } from './lib/loadgen.js'
import { runRate } from './lib/modes/rate.js'
import { runSaturation } from './lib/modes/saturation.js'
import { runSoak } from './lib/modes/soak.js'
import { OptionsError, USAGE, parseOptions } from './lib/options.js'
import { canPin, pinFor } from './lib/pinning.js'
import { progress } from './lib/progress.js'
import { startRedis } from './lib/redis.js'
import { renderReport } from './lib/report.js'
import { TARGET_LABELS, missingTool, needsRedis, needsTlsUpstream, startTarget, startTlsUpstream, startUpstream } from './lib/targets.js'

const SLUICE_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const MODES = { saturation: runSaturation, rate: runRate, soak: runSoak }

async function main (argv) {
  let options
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof OptionsError) && !err.code?.startsWith('ERR_PARSE_ARGS')) throw err
    process.stderr.write(`${err.message}\n${USAGE}\n`)
    return 2
  }
  if (options.help) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (options.targets.some(id => id === 'passthrough' || id.startsWith('full')) && !existsSync(SLUICE_CLI)) {
    process.stderr.write('dist/cli.js is missing: run `npm run build` first (npm run bench does it)\n')
    return 1
  }

  const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'))
  const before = loadavg()
  let redis
  const targets = []
  const stopEverything = async () => {
    await Promise.allSettled(targets.map(t => t.stop()))
    await stopAll()
    await redis?.stop()
    rmSync(workDir, { recursive: true, force: true })
  }
  const onSignal = (signal) => {
    progress(`${signal}: stopping the children`)
    stopEverything().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  let result
  let pinned = false
  // A target whose tool is not installed (nginx, haproxy) is left out with a note.
  const skipped = []
  const ids = []
  for (const id of options.targets) {
    const why = missingTool(id)
    if (why === undefined) ids.push(id)
    else skipped.push({ id, label: TARGET_LABELS[id], why })
  }
  for (const s of skipped) progress(`skipping ${s.label}: ${s.why}`)
  const loadgen = options.loadgen ? buildLoadgen(workDir) : { path: undefined, why: '--no-loadgen' }
  progress(loadgen.path === undefined ? `C load generator not used (${loadgen.why}): Node generators only, no stall meter` : 'C load generator and stall meter compiled')
  try {
    const upstream = await startUpstream(workDir)
    const tlsUpstream = ids.some(needsTlsUpstream) ? await startTlsUpstream(workDir) : undefined
    if (ids.some(needsRedis)) redis = await startRedis()
    const started = await Promise.allSettled(ids.map(id => startTarget(id, { upstream, tlsUpstream, redis, workDir, options })))
    for (const s of started) if (s.status === 'fulfilled') targets.push(s.value)
    const failed = started.find(s => s.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    progress(`started ${targets.map(t => `${t.id} (pid ${t.pid})`).join(', ')}; upstream pid ${upstream.pid}${redis ? `, redis pid ${redis.pid}` : ''}`)
    let pin
    if (options.pin && canPin()) {
      const pids = [upstream.pid, ...(tlsUpstream ? [tlsUpstream.pid] : []), ...targets.map(t => t.pid), ...(redis ? [redis.pid] : [])]
      pin = (targetPid) => pinFor(targetPid, pids)
      pinned = true
    } else if (options.pin) {
      progress('--pin: taskset or a second CPU is missing; running unpinned')
    }
    result = await MODES[options.mode]({ options, targets, redis, pin, loadgen: loadgen.path })
    result.skipped = skipped
    result.loadgen = loadgen.path === undefined ? { used: false, why: loadgen.why } : { used: true }
  } finally {
    await stopEverything()
  }

  result.goals = checkGoals(options.mode, { throughputRatio: null, addedP50Ms: null, addedP99Ms: null, redisCallsPerCall: null, peakRssMb: null, rssGrowthPct: null, sluiceErrors: null, ...result.facts })
  const meta = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    loadAverage: { before, after: loadavg() },
    pinned,
    options,
  }
  const markdown = renderReport(result, meta)
  process.stdout.write(markdown)
  mkdirSync(options.outDir, { recursive: true })
  writeFileSync(join(options.outDir, `${options.resultStem}.md`), markdown)
  writeFileSync(join(options.outDir, `${options.resultStem}.json`), JSON.stringify({ meta, ...result }, null, 2) + '\n')
  progress(`wrote ${join(options.outDir, options.resultStem)}.md and .json`)
  return 0
}

function gitCommit () {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`)
  process.exitCode = 1
})
