// Process settings: flags over SLUICE_* environment over defaults; README "Run it" lists them.
// Parsed once at start, frozen. Policies are not settings: they live in YAML.
import { parseDuration } from './policy/units.js'
import { parseClusterSeeds } from './ratelimit/redis-connection.js'
import type { OtlpProtocol } from './observability/tracing.js'

export interface Settings {
  /** SLUICE_POLICIES / --policies: a folder of *.yaml or one file */
  policies: string
  /** SLUICE_PORT / --port: proxy listener; 0 picks a free port */
  port: number
  /** SLUICE_HOST / --host: bind address; loopback for a sidecar */
  host: string
  /** SLUICE_ADMIN_PORT / --admin-port: metrics and health listener */
  adminPort: number
  /**
   * SLUICE_ADMIN_HOST / --admin-host: bind address of the admin listener; default
   * the proxy's. In a pod, 0.0.0.0 lets the kubelet and Prometheus reach health
   * and metrics while the credential-injecting proxy stays on loopback.
   */
  adminHost: string
  /** SLUICE_REDIS_URL / --redis: unset = in-memory buckets */
  redisUrl: string | undefined
  /** SLUICE_REDIS_CLUSTER: comma-separated seeds, host:port or redis:// / rediss:// URLs */
  redisCluster: string[] | undefined
  /** SLUICE_REDIS_CA_FILE: a PEM CA bundle trusted for rediss:// besides Node's own */
  redisCaFile: string | undefined
  /** SLUICE_CA_FILE: a PEM CA bundle trusted for every vendor besides Node's own roots */
  caFile: string | undefined
  /** SLUICE_INTERCEPT_CA_CERT / SLUICE_INTERCEPT_CA_KEY: PEM files of the CA that signs intercepted hosts; both or neither */
  interceptCaCert: string | undefined
  interceptCaKey: string | undefined
  /** SLUICE_LOG_LEVEL / --log-level */
  logLevel: string
  /** SLUICE_DRAIN_TIMEOUT: how long SIGTERM waits for in-flight calls, ms */
  drainTimeoutMs: number
  /** SLUICE_CLIENT_TIMEOUT: request headers, and each body chunk, must arrive within this, ms */
  clientTimeoutMs: number
  /**
   * OTLP/HTTP encoding of the trace export, when tracing is on: an
   * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
   * (and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none).
   * OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, default http/protobuf. The SDK reads
   * the other OTEL_* variables itself.
   */
  tracing: OtlpProtocol | undefined
  /** SLUICE_REDIS_TIMEOUT: a Redis command slower than this counts as an outage, ms */
  redisTimeoutMs: number
  /** SLUICE_DATA_DIR: where the job journal lives when there is no Redis */
  dataDir: string
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  policies: './policies',
  port: 8080,
  host: '127.0.0.1',
  adminPort: 9090,
  adminHost: '127.0.0.1',
  redisUrl: undefined,
  redisCluster: undefined,
  redisCaFile: undefined,
  caFile: undefined,
  interceptCaCert: undefined,
  interceptCaKey: undefined,
  logLevel: 'info',
  drainTimeoutMs: 25_000,
  clientTimeoutMs: 10_000,
  tracing: undefined,
  redisTimeoutMs: 150,
  dataDir: './.sluice-data',
})

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export class SettingsError extends Error {}

type Flags = Partial<Record<'policies' | 'port' | 'host' | 'admin-port' | 'admin-host' | 'redis' | 'log-level', string>>

export function loadSettings (flags: Flags, env: NodeJS.ProcessEnv = process.env): Settings {
  const pick = (flag: keyof Flags, envName: string): string | undefined => {
    const v = flags[flag] ?? env[envName]
    return v === '' ? undefined : v
  }
  // A bad value is reported as the user wrote it: the flag when given, else the variable.
  const source = (flag: keyof Flags, envName: string): string => flags[flag] !== undefined ? `--${flag}` : envName
  const port = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SettingsError(`${name}: "${v}" is not a port (0-65535)`)
    return n
  }
  const duration = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt
    const ms = parseDuration(v)
    if (ms === undefined) throw new SettingsError(`${name}: "${v}" is not a duration (250ms, 5s, 2m)`)
    return ms
  }

  const redisUrl = pick('redis', 'SLUICE_REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new SettingsError(`${source('redis', 'SLUICE_REDIS_URL')}: must start with redis:// or rediss://`)
  }
  const cluster = env.SLUICE_REDIS_CLUSTER
  const redisCluster = cluster ? cluster.split(',').map(s => s.trim()).filter(Boolean) : undefined
  if (redisUrl !== undefined && redisCluster !== undefined) {
    throw new SettingsError(`${source('redis', 'SLUICE_REDIS_URL')} and SLUICE_REDIS_CLUSTER are both set: give one Redis server or one cluster, not both`)
  }
  if (redisCluster !== undefined) {
    try {
      parseClusterSeeds(redisCluster)
    } catch (err) {
      // the message names a seed by position only: a seed may carry a password
      throw new SettingsError(`SLUICE_REDIS_CLUSTER: ${(err as Error).message}`)
    }
  }
  const redisCaFile = env.SLUICE_REDIS_CA_FILE || undefined
  const interceptCaCert = env.SLUICE_INTERCEPT_CA_CERT || undefined
  const interceptCaKey = env.SLUICE_INTERCEPT_CA_KEY || undefined
  if ((interceptCaCert === undefined) !== (interceptCaKey === undefined)) {
    throw new SettingsError('SLUICE_INTERCEPT_CA_CERT and SLUICE_INTERCEPT_CA_KEY go together: set both or neither')
  }
  const logLevel = pick('log-level', 'SLUICE_LOG_LEVEL') ?? DEFAULT_SETTINGS.logLevel
  if (!LOG_LEVELS.has(logLevel)) throw new SettingsError(`${source('log-level', 'SLUICE_LOG_LEVEL')}: "${logLevel}" is not a pino level (${[...LOG_LEVELS].join(', ')})`)

  const host = pick('host', 'SLUICE_HOST') ?? DEFAULT_SETTINGS.host
  const adminHost = pick('admin-host', 'SLUICE_ADMIN_HOST') ?? host
  const proxyPort = port(source('port', 'SLUICE_PORT'), pick('port', 'SLUICE_PORT'), DEFAULT_SETTINGS.port)
  const adminPort = port(source('admin-port', 'SLUICE_ADMIN_PORT'), pick('admin-port', 'SLUICE_ADMIN_PORT'), DEFAULT_SETTINGS.adminPort)
  // Port 0 picks a free port for each; a wildcard host shares its port with every address.
  const wildcard = (h: string): boolean => h === '0.0.0.0' || h === '::'
  if (proxyPort !== 0 && proxyPort === adminPort && (host === adminHost || wildcard(host) || wildcard(adminHost))) {
    throw new SettingsError(`${source('port', 'SLUICE_PORT')} and ${source('admin-port', 'SLUICE_ADMIN_PORT')} are both ${proxyPort}: the proxy listener and the admin listener need different ports`)
  }
  return Object.freeze({
    policies: pick('policies', 'SLUICE_POLICIES') ?? DEFAULT_SETTINGS.policies,
    port: proxyPort,
    host,
    adminHost,
    adminPort,
    redisUrl,
    redisCluster,
    redisCaFile,
    caFile: env.SLUICE_CA_FILE || undefined,
    interceptCaCert,
    interceptCaKey,
    logLevel,
    drainTimeoutMs: duration('SLUICE_DRAIN_TIMEOUT', env.SLUICE_DRAIN_TIMEOUT, DEFAULT_SETTINGS.drainTimeoutMs),
    clientTimeoutMs: duration('SLUICE_CLIENT_TIMEOUT', env.SLUICE_CLIENT_TIMEOUT, DEFAULT_SETTINGS.clientTimeoutMs),
    tracing: tracingProtocol(env),
    redisTimeoutMs: duration('SLUICE_REDIS_TIMEOUT', env.SLUICE_REDIS_TIMEOUT, DEFAULT_SETTINGS.redisTimeoutMs),
    dataDir: env.SLUICE_DATA_DIR || DEFAULT_SETTINGS.dataDir,
  })
}

function tracingProtocol (env: NodeJS.ProcessEnv): OtlpProtocol | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim() === 'none') return undefined
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = env[name] || 'http/protobuf'
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new SettingsError(`${name}: "${protocol}" is not supported (http/protobuf or http/json)`)
  }
  return protocol
}
