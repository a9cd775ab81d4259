// An injected value goes to the vendor's upstream and nowhere else (SPEC
// section 4): not in what the client gets back (relayed or answered by
// sluice), not in any log line at any level, not in /policies or /metrics,
// not in `sluice explain`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { CLI, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { expectNone, exposedText } from './leaks.js'
import { freePort } from '../helpers/wait.js'

const SECRETS = {
  'env header': 'maple-koi-4471-drum',
  'file header': 'quill-yak-8820-pier',
  'env query': 'ochre-gnu-3154-wick',
}
const env = { E2E_LEAK_HEADER: SECRETS['env header'], E2E_LEAK_QUERY: SECRETS['env query'] }

let up: Upstream
let sluice: TestSluice
let deadPort: number
/** everything the clients got back: status lines, headers and bodies */
const answers: string[] = []

function policy (vendor: string, upstream: string, file: string, extra = ''): string {
  return [
    `vendor: ${vendor}`,
    `upstream: ${upstream}`,
    'retry: { attempts: 1 }',
    'inject:',
    '  headers:',
    '    Authorization: "Bearer ${env:E2E_LEAK_HEADER}"',
    `    X-Partner-Key: "\${file:${file}}"`,
    '  query:',
    '    key: "${env:E2E_LEAK_QUERY}"',
    extra,
  ].join('\n')
}

beforeAll(async () => {
  Object.assign(process.env, env)
  const dir = await mkdtemp(join(tmpdir(), 'sluice-secret-'))
  const file = join(dir, 'partner')
  await writeFile(file, SECRETS['file header'])
  up = await startUpstream((req, res) => {
    // An upstream that says no, and one that redirects to itself.
    if (req.url?.startsWith('/v1/denied') === true) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="acme"' })
      res.end('{"error":"unauthorized"}')
    } else if (req.url?.startsWith('/v1/moved') === true) {
      res.writeHead(302, { location: `${up.url}/v1/there` })
      res.end()
    } else {
      res.end('{"ok":true}')
    }
  })
  deadPort = await freePort()
  sluice = await startTestSluice({
    'acme.yaml': policy('acme', up.url, file, 'routes:\n  allow:\n    - methods: [GET, POST]\n      paths: ["/v1/**"]\n'),
    'dead.yaml': policy('dead', `http://127.0.0.1:${deadPort}`, file),
  }, { logLevel: 'trace' })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function call (path: string, opts: { method?: 'GET' | 'POST' | 'DELETE', expected: number }): Promise<void> {
  const res = await request(`${sluice.url}${path}`, { method: opts.method ?? 'GET', headers: { authorization: 'Bearer client-own' } })
  const body = await res.body.text()
  expect(res.statusCode).toBe(opts.expected)
  answers.push(`${res.statusCode}\n${JSON.stringify(res.headers)}\n${body}`)
}

describe('injected values stay between sluice and the vendor', () => {
  it('reach the upstream on every kind of call', async () => {
    await call('/acme/v1/charges?limit=1', { expected: 200 })
    await call('/acme/v1/denied', { expected: 401 })
    await call('/acme/v1/moved', { expected: 302 })
    await call('/acme/v2/outside', { expected: 403 }) //        refused by routes.allow
    await call('/acme/v1/x', { method: 'DELETE', expected: 403 })
    await call('/dead/v1/charges', { expected: 502 }) //         upstream refuses connections
    await call('/nobody/v1/charges', { expected: 404 })
    expect(up.seen.length).toBe(3)
    for (const seen of up.seen) {
      expect(seen.headers.authorization).toBe(`Bearer ${SECRETS['env header']}`)
      expect(seen.headers['x-partner-key']).toBe(SECRETS['file header'])
      expect(new URL(seen.url, 'http://x').searchParams.get('key')).toBe(SECRETS['env query'])
    }
  })

  it('are not in any answer the client got', () => {
    expect(answers.length).toBe(7)
    expectNone(answers.join('\n'), SECRETS)
  })

  it('are not in any log line (trace level), nor in /policies or /metrics', async () => {
    const text = await exposedText(sluice)
    expect(text).toContain('"msg":"request"')
    expect(text).toContain('${env:E2E_LEAK_HEADER}') // /policies names the reference instead
    expectNone(text, SECRETS)
  })

  it('are not in `sluice explain` output', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'explain', sluice.dir], { env: { ...process.env, ...env } })
    expect(stdout).toContain('"vendor": "acme"')
    expect(stdout).toContain('Bearer ${env:E2E_LEAK_HEADER}')
    expectNone(stdout + stderr, SECRETS)
  })
})
