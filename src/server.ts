// Process concerns only: load the policies, bind both listeners, announce
// them, reload on SIGHUP or a change in the policy folder, and drain on SIGTERM.
import { watch, type FSWatcher } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildProxyApp } from './app.js'
import { buildAdminApp } from './admin/app.js'
import { InterceptCa } from './intercept/ca.js'
import { formatProblem, loadPolicies } from './policy/load.js'
import type { PolicyProblem } from './policy/types.js'
import { flushSoon } from './observability/logger.js'
import { Metrics } from './observability/metrics.js'
import { startTracing } from './observability/tracing.js'
import { createRateLimiter } from './ratelimit/index.js'
import { ProxyRuntime } from './runtime/proxy-runtime.js'
import { SettingsError, type Settings } from './settings.js'
import { openJobs } from './jobs/open.js'

export class PolicyLoadError extends Error {
  constructor (readonly problems: PolicyProblem[]) {
    super(`${problems.length} problem(s) in the policies:\n${problems.map(formatProblem).join('\n')}`)
  }
}

export interface Sluice {
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly runtime: ProxyRuntime
  /** Loads the policy folder again; false (and the old set kept) when it is invalid. */
  reload (): Promise<boolean>
  /** Stops accepting, lets calls in flight finish (up to the drain timeout), closes. */
  drain (): Promise<void>
}

export async function startSluice (settings: Settings, logger: Logger, opts: {
  processMetrics?: boolean
  /** for tests: the replica announcement's intervals (ms) */
  announce?: { everyMs: number, ttlMs: number }
} = {}): Promise<Sluice> {
  const { set, problems, warnings } = await loadPolicies(settings.policies)
  if (set === undefined) throw new PolicyLoadError(problems)
  if (warnings.length > 0) logger.warn({ warnings: warnings.map(formatProblem) }, 'risky policy settings (sluice validate lists them)')

  const redisTlsCa = settings.redisCaFile === undefined ? undefined : await readPem('SLUICE_REDIS_CA_FILE', settings.redisCaFile)
  const interceptCa = settings.interceptCaCert === undefined || settings.interceptCaKey === undefined
    ? undefined
    : await InterceptCa.load(settings.interceptCaCert, settings.interceptCaKey)
  const extraCa = settings.caFile === undefined ? undefined : (await readPem('SLUICE_CA_FILE', settings.caFile)).toString('utf8')
  const metrics = new Metrics({ ...opts, redis: settings.redisUrl !== undefined || (settings.redisCluster !== undefined && settings.redisCluster.length > 0) })
  const limiter = createRateLimiter({
    ...(settings.redisUrl !== undefined ? { redisUrl: settings.redisUrl } : {}),
    ...(settings.redisCluster !== undefined ? { clusterNodes: settings.redisCluster } : {}),
    redisTlsCa,
    redisCommandTimeoutMs: settings.redisTimeoutMs,
    metrics,
    logger,
    ...(opts.announce !== undefined ? { announceEveryMs: opts.announce.everyMs, announceTtlMs: opts.announce.ttlMs } : {}),
  })
  // Listening before the first Redis connection is up would treat the first calls as an outage.
  await limiter.ready()
  // Each vendor's credentials log their unresolvable references (by name) as they are built.
  // The OpenTelemetry SDK is loaded only when tracing is on.
  const tracing = settings.tracing === undefined ? undefined : await startTracing(settings.tracing)
  const runtime = new ProxyRuntime(set, { metrics, logger, limiter, clientTimeoutMs: settings.clientTimeoutMs, extraCa, interceptCa, tracing })

  // Jobs are resumed before the listeners open: a pending job is never forgotten by a restart.
  runtime.jobs = await openJobs(settings, redisTlsCa, runtime, logger)

  const proxy = buildProxyApp(runtime, { clientTimeoutMs: settings.clientTimeoutMs })
  const admin = buildAdminApp(runtime)
  let proxyUrl: string
  let adminUrl: string
  let binding = `proxy listener (${settings.host}:${settings.port})`
  try {
    proxyUrl = await listen(proxy, settings.host, settings.port)
    binding = `admin listener (${settings.adminHost}:${settings.adminPort})`
    adminUrl = await listen(admin, settings.adminHost, settings.adminPort)
  } catch (err) {
    await Promise.allSettled([proxy.close(), admin.close(), runtime.jobs.close(), runtime.close()])
    // Say which of the two could not bind: "address in use" alone does not.
    if (err instanceof Error) err.message = `${binding}: ${err.message}`
    throw err
  }
  runtime.jobs.start()
  // Written whatever the log level: a caller that asked for port 0 learns the ports from it.
  logger.child({}, { level: 'info' }).info({ proxy: proxyUrl, admin: adminUrl, vendors: runtime.current.vendors.map(v => v.name) }, 'listening')
  // whoever started sluice waits for this line: do not hold it in the log batch
  flushSoon(logger)

  let reloading: Promise<boolean> | undefined
  let reloadAgain = false
  const reloadOnce = async (): Promise<boolean> => {
    const result = await loadPolicies(settings.policies)
    if (result.set === undefined) {
      runtime.lastReload = { at: Date.now(), ok: false, problems: result.problems.map(formatProblem) }
      metrics.policyReloads.inc({ result: 'failure' })
      logger.error({ problems: result.problems.map(formatProblem) }, 'policy reload refused: the previous policies stay in force')
      return false
    }
    runtime.swap(result.set)
    runtime.lastReload = { at: Date.now(), ok: true, problems: [] }
    metrics.policyReloads.inc({ result: 'success' })
    logger.info({ vendors: runtime.current.vendors.map(v => v.name) }, 'policies reloaded')
    return true
  }
  // One reload at a time; a change during a reload triggers one more after it.
  const reload = async (): Promise<boolean> => {
    if (reloading !== undefined) {
      reloadAgain = true
      return reloading
    }
    reloading = (async () => {
      let ok: boolean
      do {
        reloadAgain = false
        ok = await reloadOnce()
      } while (reloadAgain)
      return ok
    })()
    try {
      return await reloading
    } finally {
      reloading = undefined
    }
  }

  const watcher = await watchPolicies(settings.policies, () => { reload().catch(() => {}) }, logger)

  let draining: Promise<void> | undefined
  const drain = (): Promise<void> => {
    draining ??= (async () => {
      // Calls that arrive from now on are answered 503 draining (with Connection: close)
      // rather than refused at the socket: the application learns why.
      runtime.draining = true
      watcher?.close()
      logger.info({ inFlight: runtime.inFlight }, 'draining')
      const drainStart = Date.now()
      // No job is taken from now on; the attempts in hand finish (or are taken over later).
      await runtime.jobs?.stop(settings.drainTimeoutMs)
      const done = await runtime.drained(Math.max(0, settings.drainTimeoutMs - (Date.now() - drainStart)))
      if (!done) logger.warn({ inFlight: runtime.inFlight }, 'drain timeout passed: cutting calls still in flight')
      const closed = proxy.close()
      proxy.server.closeAllConnections()
      await closed
      await admin.close()
      await runtime.jobs?.close()
      await runtime.close()
      logger.info({}, 'stopped')
    })()
    return draining
  }

  return { proxyUrl, adminUrl, runtime, reload, drain }
}

async function listen (app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port })
  const addr = app.server.address() as AddressInfo
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return `http://${h}:${addr.port}`
}

/**
 * Watches the policy folder (or the folder of a single policy file). A
 * Kubernetes ConfigMap update swaps a `..data` symlink inside the folder, which
 * shows as a rename there, so the folder itself is watched, with a short
 * debounce so one update reloads once.
 */
async function watchPolicies (path: string, onChange: () => void, logger: Logger): Promise<FSWatcher | undefined> {
  const abs = resolve(path)
  const dir = (await stat(abs)).isDirectory() ? abs : dirname(abs)
  let timer: NodeJS.Timeout | undefined
  try {
    const w = watch(dir, { persistent: false }, () => {
      clearTimeout(timer)
      timer = setTimeout(onChange, 200)
    })
    w.on('error', (err) => logger.warn({ err: { message: err.message } }, 'policy folder watch failed; SIGHUP still reloads'))
    return w
  } catch (err) {
    logger.warn({ err: { message: (err as Error).message } }, 'cannot watch the policy folder; SIGHUP still reloads')
    return undefined
  }
}

/** A CA bundle named by a setting, read once at start: a file that is missing or holds no certificate stops sluice. */
async function readPem (setting: string, path: string): Promise<Buffer> {
  let pem: Buffer
  try {
    pem = await readFile(path)
  } catch (err) {
    throw new SettingsError(`${setting}: cannot read ${path} (${(err as { code?: string }).code ?? 'error'})`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new SettingsError(`${setting}: ${path} holds no PEM certificate`)
  return pem
}
