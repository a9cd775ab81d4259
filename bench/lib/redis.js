// The benchmark's own redis-server: a free port on loopback, no persistence,
// a temporary directory; and the figures read from it: how many script calls
// (EVALSHA + EVAL) it has served (INFO commandstats), and how many socket
// reads it made (INFO stats).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

// found on PATH, like any other program
const REDIS_SERVER = 'redis-server'

export async function startRedis () {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-redis-'))
  const proc = spawn(REDIS_SERVER, [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--loglevel', 'warning',
  ], { stdio: 'ignore' })
  const exited = new Promise(resolve => proc.once('exit', resolve))
  proc.once('error', () => {}) // a missing binary surfaces as the connect failure below
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  const end = Date.now() + 10_000
  for (;;) {
    try {
      await client.connect()
      await client.ping()
      break
    } catch (err) {
      if (Date.now() > end || proc.exitCode !== null) {
        proc.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`redis-server (${REDIS_SERVER}) did not start: ${err.message}`)
      }
      client.disconnect()
      await sleep(50)
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid,
    /**
     * Since the server started: EVALSHA + EVAL calls served, and socket reads
     * made (one read takes in a whole auto-pipelined batch of commands).
     */
    async counters () {
      const [commands, stats] = await Promise.all([client.info('commandstats'), client.info('stats')])
      return {
        scriptCalls: commandCalls(commands, 'evalsha') + commandCalls(commands, 'eval'),
        reads: infoField(stats, 'total_reads_processed'),
      }
    },
    async stop () {
      client.disconnect()
      proc.kill('SIGTERM')
      await Promise.race([exited, sleep(5000, undefined, { ref: false })])
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** calls=N of `cmdstat_<name>:` in INFO commandstats; 0 when the command never ran. */
export function commandCalls (info, name) {
  const m = new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)
  return m === null ? 0 : Number(m[1])
}

function infoField (info, name) {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info)
  return m === null ? null : Number(m[1])
}

/** A port on 127.0.0.1 free at the time of asking, for a redis-server to bind. */
export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}
