// Shared pieces of the asynchronous-call tests: a vendor policy with async
// enabled and short clocks, real `dist/cli.js start` processes, jobs submitted
// with Prefer: respond-async, and polls with deadlines (never a fixed sleep).
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'

export const VENDOR = 'acme'

/** A policy with async enabled; `async` is YAML under `async:` merged after the short-clock defaults. */
export function jobPolicy (upstream: string, opts: { async?: string, extra?: string, vendor?: string } = {}): string {
  return [
    `vendor: ${opts.vendor ?? VENDOR}`,
    `upstream: ${upstream}`,
    'network:',
    '  allowPrivate: true',
    'retry:',
    '  attempts: 1',
    'async:',
    '  enabled: true',
    ...(opts.async ?? `
retry:
  attempts: 5
  backoff: { initial: 50ms, max: 200ms, multiplier: 2, jitter: none }
claimTimeout: 1s
`).trim().split('\n').map(l => '  ' + l),
    (opts.extra ?? '').trim(),
    '',
  ].join('\n')
}

export interface JobSluice {
  proxy: string
  admin: string
  cli: CliProcess
  /** SIGTERM, then waits for the exit */
  stop (): Promise<number | null>
  /** SIGKILL, then waits for the exit */
  kill (): Promise<void>
}

export async function dataDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'sluice-jobs-data-'))
}

/** A real sluice process with these policy files; `env` adds SLUICE_DATA_DIR, SLUICE_REDIS_URL, ... */
export async function startJobSluice (files: Record<string, string> | string, env: Record<string, string> = {}): Promise<JobSluice> {
  const dir = typeof files === 'string' ? files : await policyDir(files)
  const cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], { SLUICE_DATA_DIR: await dataDir(), ...env })
  const { proxy, admin } = await cli.listening
  return {
    proxy,
    admin,
    cli,
    stop: async () => {
      cli.child.kill('SIGTERM')
      return await cli.exited
    },
    kill: async () => {
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) return
      cli.child.kill('SIGKILL')
      await cli.exited
    },
  }
}

export interface Accepted {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Record<string, unknown>
  id: string
}

/** A call with Prefer: respond-async; the body parsed as JSON. */
export async function submit (proxy: string, path: string, opts: { method?: string, body?: string, headers?: Record<string, string> } = {}): Promise<Accepted> {
  const res = await request(proxy + path, {
    method: (opts.method ?? 'POST') as 'POST',
    headers: { prefer: 'respond-async', 'content-type': 'application/json', ...opts.headers },
    body: opts.body ?? (opts.method === 'GET' ? null : '{}'),
  })
  const text = await res.body.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch { body = { text } }
  return { status: res.statusCode, headers: res.headers, body, id: String(body.job ?? '') }
}

export async function getJson (url: string, init: { method?: string } = {}): Promise<{ status: number, body: Record<string, unknown>, headers: Record<string, string | string[] | undefined>, text: string }> {
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET' })
  const text = await res.body.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch { body = {} }
  return { status: res.statusCode, body, headers: res.headers, text }
}

/** The job's state as the proxy listener reports it. */
export async function jobStatus (proxy: string, id: string): Promise<Record<string, unknown>> {
  return (await getJson(`${proxy}/_sluice/jobs/${id}`)).body
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${(last as Error).message}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

/** Waits until the job is in one of `statuses`; returns its JSON. */
export async function jobReaches (proxy: string, id: string, statuses: string[], timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return await eventually(async () => {
    const s = await jobStatus(proxy, id)
    return statuses.includes(String(s.status)) ? s : undefined
  }, timeoutMs, `job ${id} to be ${statuses.join('|')}`)
}
