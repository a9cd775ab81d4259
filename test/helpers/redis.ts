// Real redis-server processes for tests: one standalone server, or a small
// Redis Cluster. Each runs on a free port with persistence off, in its own
// temporary directory, and is killed by stop().
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const REDIS_SERVER = '/usr/bin/redis-server'
const REDIS_CLI = '/usr/bin/redis-cli'
const execFileP = promisify(execFile)

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
export async function startRedis (opts: { port?: number } = {}): Promise<RedisHandle> {
  const port = opts.port ?? await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'sluice-redis-'))
  const proc = spawnServer(port, dir, [])
  await waitForPing(port, proc)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid as number,
    stop: async () => {
      await kill(proc)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** `n` cluster-enabled servers joined into one cluster with no replicas, ready for use. */
export async function startRedisCluster (n = 3): Promise<RedisClusterHandle> {
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
      ]))
    }
    await Promise.all(ports.map((p, i) => waitForPing(p, procs[i] as ChildProcess)))
    const nodes = ports.map(p => `127.0.0.1:${p}`)
    await execFileP(REDIS_CLI, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'])
    await waitFor(async () => {
      for (const p of ports) {
        const { stdout } = await execFileP(REDIS_CLI, ['-p', String(p), 'cluster', 'info'])
        if (!stdout.includes('cluster_state:ok')) return false
      }
      return true
    }, 15_000, 'cluster_state:ok')
    return { ports, nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function spawnServer (port: number, dir: string, extra: string[]): ChildProcess {
  const proc = spawn(REDIS_SERVER, [
    '--port', String(port),
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

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function isFree (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** True once the server answers PING with PONG. */
async function ping (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const sock = connect(port, '127.0.0.1')
    let data = ''
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok) }
    sock.setTimeout(500, () => done(false))
    sock.once('error', () => done(false))
    sock.on('data', chunk => {
      data += chunk.toString()
      if (data.includes('\r\n')) done(data.startsWith('+PONG'))
    })
    sock.once('connect', () => sock.write('PING\r\n'))
  })
}

async function waitForPing (port: number, proc: ChildProcess): Promise<void> {
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`)
    return await ping(port)
  }, 10_000, `redis-server on port ${port}`)
}

async function waitFor (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}
