// Real redis-server processes for tests: one standalone server, or a small
// Redis Cluster. Each runs on a free port with persistence off, in its own
// temporary directory, and is killed by stop(). Either can ask for a password
// and TLS (on every port, the cluster bus included), as managed Redis does.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { redisCli, redisServer } from './binaries.js'
import type { TestCertificates } from './tls.js'
import { eventually, freePort } from './wait.js'

const execFileP = promisify(execFile)

export interface RedisSecurity {
  /** requirepass (and masterauth in a cluster) */
  password?: string
  /** serve TLS only, with this certificate */
  tls?: TestCertificates
}

export interface RedisHandle {
  port: number
  url: string
  /** the server process, e.g. to freeze it with SIGSTOP */
  pid: number
  stop (): Promise<void>
}

export interface RedisClusterHandle {
  ports: number[]
  /** host:port seeds, as SLUICE_REDIS_CLUSTER lists them */
  nodes: string[]
  stop (): Promise<void>
}

/** A standalone redis-server on a free port (or on `port`, to restart one that was stopped). */
export async function startRedis (opts: { port?: number, security?: RedisSecurity } = {}): Promise<RedisHandle> {
  redisServer()
  const port = opts.port ?? await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'sluice-redis-'))
  const security = opts.security ?? {}
  const proc = spawnServer(port, dir, securityArgs(security, false))
  await waitForPing(port, proc, security)
  const auth = security.password !== undefined ? `:${encodeURIComponent(security.password)}@` : ''
  return {
    port,
    url: `${security.tls !== undefined ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    pid: proc.pid as number,
    stop: async () => {
      await kill(proc)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** `n` cluster-enabled servers joined into one cluster with no replicas, ready for use. */
export async function startRedisCluster (n = 3, security: RedisSecurity = {}): Promise<RedisClusterHandle> {
  const ports: number[] = []
  // The cluster bus listens on port + 10000: both must be free.
  while (ports.length < n) {
    const p = await freePort()
    if (p + 10000 <= 65535 && !ports.includes(p) && await isFree(p + 10000)) ports.push(p)
  }
  const dirs: string[] = []
  const procs: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map(kill))
    await Promise.all(dirs.map(d => rm(d, { recursive: true, force: true })))
  }
  try {
    for (const port of ports) {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-redis-cluster-'))
      dirs.push(dir)
      procs.push(spawnServer(port, dir, [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, 'nodes.conf'),
        '--cluster-node-timeout', '2000',
        ...securityArgs(security, true),
      ]))
    }
    await Promise.all(ports.map((p, i) => waitForPing(p, procs[i] as ChildProcess, security)))
    const nodes = ports.map(p => `127.0.0.1:${p}`)
    const cli = cliArgs(security)
    await execFileP(redisCli(), [...cli, '--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'])
    await eventually(async () => {
      for (const p of ports) {
        const { stdout } = await execFileP(redisCli(), [...cli, '-p', String(p), 'cluster', 'info'])
        if (!stdout.includes('cluster_state:ok')) return false
      }
      return true
    }, { timeout: 15_000, what: 'cluster_state:ok' })
    return { ports, nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** redis-cli's flags to reach a server set up with `security`. */
export function cliArgs (security: RedisSecurity): string[] {
  return [
    ...(security.tls !== undefined ? ['--tls', '--cacert', security.tls.caFile] : []),
    ...(security.password !== undefined ? ['-a', security.password, '--no-auth-warning'] : []),
  ]
}

function securityArgs (security: RedisSecurity, cluster: boolean): string[] {
  const args: string[] = []
  if (security.password !== undefined) {
    args.push('--requirepass', security.password)
    if (cluster) args.push('--masterauth', security.password)
  }
  const tls = security.tls
  if (tls !== undefined) {
    args.push('--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no')
    if (cluster) args.push('--tls-cluster', 'yes')
  }
  return args
}

function spawnServer (port: number, dir: string, extra: string[]): ChildProcess {
  // With TLS, the port given serves TLS only (the plain port is closed).
  const tls = extra.includes('--tls-cert-file')
  const proc = spawn(redisServer(), [
    ...(tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)]),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    ...extra,
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  proc.stderr?.resume()
  return proc
}

async function kill (proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  proc.kill('SIGKILL')
  await exited
}

async function isFree (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** True once the server answers PING with PONG (after AUTH, over TLS, as `security` asks). */
async function ping (port: number, security: RedisSecurity): Promise<boolean> {
  const ca = security.tls !== undefined ? await readFile(security.tls.caFile) : undefined
  return await new Promise(resolve => {
    const sock: Socket = ca !== undefined
      ? tlsConnect({ port, host: '127.0.0.1', ca })
      : connect(port, '127.0.0.1')
    let data = ''
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok) }
    sock.setTimeout(500, () => done(false))
    sock.once('error', () => done(false))
    sock.on('data', chunk => {
      data += chunk.toString()
      if (data.includes('PONG') || data.includes('-')) done(data.includes('+PONG'))
    })
    const auth = security.password !== undefined ? `AUTH ${security.password}\r\n` : ''
    sock.once(ca !== undefined ? 'secureConnect' : 'connect', () => sock.write(`${auth}PING\r\n`))
  })
}

async function waitForPing (port: number, proc: ChildProcess, security: RedisSecurity = {}): Promise<void> {
  await eventually(async () => {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`)
    return await ping(port, security)
  }, { timeout: 10_000, what: `redis-server on port ${port}` })
}
