// A reference that cannot be resolved never takes the other vendors down
// (SPEC section 4): sluice starts, logs the reference by name (never a
// value), serves the other vendors, and answers that vendor 503
// credential_unavailable without calling its upstream, until the secret
// appears. Plain `validate` needs no secrets; `--resolve-secrets` does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { CLI, startTestSluice, type TestSluice } from '../helpers/sluice.js'

const LATER_VALUE = 'later-value-ruby-1029'
const NESTED_VALUE = 'nested-value-onyx-3847'

let up: Upstream
let sluice: TestSluice
let secrets: string

beforeAll(async () => {
  delete process.env.E2E_NEVER_SET
  secrets = await mkdtemp(join(tmpdir(), 'sluice-secret-'))
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'missing.yaml': `vendor: missing\nupstream: ${up.url}\ninject:\n  headers:\n    Authorization: "Bearer \${env:E2E_NEVER_SET}"\n`,
    'later.yaml': `vendor: later\nupstream: ${up.url}\ninject:\n  query:\n    key: "\${file:${join(secrets, 'key')}}"\n`,
    // The folder itself does not exist yet: a volume mounted after start.
    'nested.yaml': `vendor: nested\nupstream: ${up.url}\ninject:\n  headers:\n    X-Key: "\${file:${join(secrets, 'mount', 'key')}}"\n`,
    'fine.yaml': `vendor: fine\nupstream: ${up.url}\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function call (vendor: string): Promise<{ status: number, code: string | undefined, body: Record<string, unknown> }> {
  const res = await request(`${sluice.url}/${vendor}/v1/ping`)
  const text = await res.body.text()
  return { status: res.statusCode, code: res.headers['x-sluice-error'] as string | undefined, body: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {} }
}

/** Calls the vendor one call at a time until it is served, for at most `ms`. */
async function untilServed (vendor: string, ms = 4000): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    const r = await call(vendor)
    if (r.status === 200) return
    expect(r.code).toBe('credential_unavailable')
    if (Date.now() > end) throw new Error(`${vendor} was not served within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

describe('an environment variable missing at start', () => {
  it('does not stop sluice: it logs one error naming the reference', () => {
    const errors = sluice.logs.filter(l => l.level === 'error' && JSON.stringify(l).includes('${env:E2E_NEVER_SET}'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ vendor: 'missing', reference: '${env:E2E_NEVER_SET}' })
  })

  it('answers that vendor 503 credential_unavailable, and never calls its upstream', async () => {
    const before = up.seen.length
    const r = await call('missing')
    expect(r.status).toBe(503)
    expect(r.code).toBe('credential_unavailable')
    expect(r.body).toMatchObject({ error: 'credential_unavailable', vendor: 'missing' })
    expect(String(r.body.message)).toContain('${env:E2E_NEVER_SET}')
    expect(up.seen.length).toBe(before)
  })

  it('serves the other vendors', async () => {
    expect((await call('fine')).status).toBe(200)
  })
})

describe('a ${file:} secret that appears after start', () => {
  it('is refused until the file is written, then served without a restart', async () => {
    expect((await call('later')).code).toBe('credential_unavailable')
    await writeFile(join(secrets, 'key'), LATER_VALUE + '\n')
    await untilServed('later')
    expect(new URL(up.seen.at(-1)!.url, 'http://x').searchParams.get('key')).toBe(LATER_VALUE)
  })

  it('is served once a folder mounted later holds it', async () => {
    expect((await call('nested')).code).toBe('credential_unavailable')
    await mkdir(join(secrets, 'mount'))
    await writeFile(join(secrets, 'mount', 'key'), NESTED_VALUE)
    await untilServed('nested')
    expect(up.seen.at(-1)!.headers['x-key']).toBe(NESTED_VALUE)
  })

  it('logs that it resolved, by reference, never by value', () => {
    const text = sluice.logText()
    expect(sluice.logs.some(l => l.msg === 'credential reference resolved' && l.vendor === 'later')).toBe(true)
    expect(text).not.toContain(LATER_VALUE)
    expect(text).not.toContain(NESTED_VALUE)
  })
})

describe('validate', () => {
  const run = promisify(execFile)
  const env = { PATH: process.env.PATH }

  it('passes without the secrets: it checks only the form', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'validate', sluice.dir], { env })
    expect(stdout).toContain('valid')
  })

  it('with --resolve-secrets exits 1 and names each reference that cannot be resolved', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-policies-'))
    await writeFile(join(dir, 'missing.yaml'), `vendor: missing\nupstream: ${up.url}\ninject:\n  headers:\n    Authorization: "Bearer \${env:E2E_NEVER_SET}"\n`)
    await writeFile(join(dir, 'gone.yaml'), `vendor: gone\nupstream: ${up.url}\ninject:\n  query:\n    key: "\${file:${join(secrets, 'nope')}}"\n`)
    await writeFile(join(dir, 'fine.yaml'), `vendor: fine\nupstream: ${up.url}\ninject:\n  headers:\n    X-Key: "\${env:E2E_PRESENT}"\n`)
    const failed = await run(process.execPath, [CLI, 'validate', dir, '--resolve-secrets'], { env: { ...env, E2E_PRESENT: 'present-value-77' } })
      .then(() => undefined, (err: { code: number, stdout: string }) => err)
    expect(failed?.code).toBe(1)
    const lines = failed!.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines.find(l => l.includes('missing.yaml'))).toContain('${env:E2E_NEVER_SET}')
    expect(lines.find(l => l.includes('gone.yaml'))).toContain(`\${file:${join(secrets, 'nope')}}`)
    expect(failed!.stdout).not.toContain('present-value-77')

    const ok = await run(process.execPath, [CLI, 'validate', dir], { env })
    expect(ok.stdout).toContain('valid')
  })
})

describe('a ${file:} secret holding a line break', () => {
  it('is never sent (it would split the header): the vendor answers 503 and its upstream is not called', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-secret-'))
    await writeFile(join(dir, 'key'), 'abc\r\nX-Injected-By-File: yes\n')
    const s = await startTestSluice({
      'crlf.yaml': `vendor: crlf\nupstream: ${up.url}\ninject:\n  headers:\n    X-Key: "\${file:${join(dir, 'key')}}"\n`,
    })
    try {
      const before = up.seen.length
      const res = await request(`${s.url}/crlf/v1/ping`)
      await res.body.dump()
      expect(res.statusCode).toBe(503)
      expect(res.headers['x-sluice-error']).toBe('credential_unavailable')
      expect(up.seen.length).toBe(before)
      expect(s.logs.some(l => l.level === 'error' && l.vendor === 'crlf')).toBe(true)
      expect(s.logText()).not.toContain('X-Injected-By-File')
    } finally {
      await s.stop()
    }
  })
})
