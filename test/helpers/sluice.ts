// A real sluice for tests: the in-process app on real sockets (port 0), with
// its log lines collected, or the CLI as a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/observability/logger.js'
import { startSluice, type Sluice } from '../../src/server.js'
import { loadSettings } from '../../src/settings.js'

export const CLI = new URL('../../dist/cli.js', import.meta.url).pathname

export interface TestSluice {
  url: string
  adminUrl: string
  sluice: Sluice
  /** every log line so far, parsed */
  logs: Array<Record<string, unknown>>
  /** the raw log text so far */
  logText (): string
  /** the policy folder */
  dir: string
  stop (): Promise<void>
}

/** Writes `files` (name -> YAML) to a fresh folder. */
export async function policyDir (files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-policies-'))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

export async function startTestSluice (files: Record<string, string>, opts: { env?: Record<string, string>, logLevel?: string, announce?: { everyMs: number, ttlMs: number } } = {}): Promise<TestSluice> {
  const dir = await policyDir(files)
  const settings = loadSettings({ policies: dir, port: '0', 'admin-port': '0', 'log-level': opts.logLevel ?? 'info' }, { ...opts.env })
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  const logger = createLogger(settings.logLevel, sink)
  const sluice = await startSluice(settings, logger, { processMetrics: false, ...(opts.announce !== undefined ? { announce: opts.announce } : {}) })
  const logs: Array<Record<string, unknown>> = []
  return {
    url: sluice.proxyUrl,
    adminUrl: sluice.adminUrl,
    sluice,
    get logs () {
      logs.length = 0
      for (const text of lines) for (const l of text.split('\n')) if (l !== '') logs.push(JSON.parse(l) as Record<string, unknown>)
      return logs
    },
    logText: () => lines.join(''),
    dir,
    stop: () => sluice.drain(),
  }
}

/** The request log lines so far. */
export function requestLines (s: TestSluice): Array<Record<string, unknown>> {
  return s.logs.filter(l => l.msg === 'request')
}

export interface CliProcess {
  child: ChildProcess
  stdout: string[]
  stderr (): string
  /** resolves with the listening line's proxy and admin URLs */
  listening: Promise<{ proxy: string, admin: string }>
  exited: Promise<number | null>
}

/** Runs `node dist/cli.js ...args`; stdout is collected line by line. */
export function runCli (args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  let err = ''
  let buf = ''
  let onListening: (v: { proxy: string, admin: string }) => void
  let onFail: (e: Error) => void
  const listening = new Promise<{ proxy: string, admin: string }>((resolve, reject) => { onListening = resolve; onFail = reject })
  child.stdout?.on('data', (c: Buffer) => {
    buf += c.toString()
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      stdout.push(line)
      try {
        const o = JSON.parse(line) as { msg?: string, proxy?: string, admin?: string }
        if (o.msg === 'listening' && o.proxy && o.admin) onListening({ proxy: o.proxy, admin: o.admin })
      } catch { /* not JSON */ }
    }
  })
  listening.catch(() => {}) // a test that expects an exit does not await it
  child.stderr?.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>(resolve => child.on('exit', (code) => {
    onFail(new Error(`sluice exited (${code}) before listening: ${err}`))
    resolve(code)
  }))
  return { child, stdout, stderr: () => err, listening, exited }
}
