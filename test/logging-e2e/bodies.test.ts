// Bodies in the request line (SPEC section 5, logging.bodies): reqBody and
// resBody are scrubbed and cut at maxBodyBytes, while the bytes that reach the
// vendor and the client are exactly those sent. What is not text (gzip,
// binary types, bytes that are not UTF-8) is logged as a size and a hash, and
// still relayed intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const MAX = 300
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const PII = ['jane.doe@example.com', 'hunter2-horse-battery', '4111 1111 1111 1111', '078-05-1120', 'DE89370400440532013000', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc']

function jsonWithPii (tail: string): Buffer {
  return Buffer.from(JSON.stringify({
    user: { email: PII[0], password: PII[1], card: PII[2], ssn: PII[3] },
    payout: { iban: PII[4] },
    key: PII[5],
    padding: 'p'.repeat(600),
    tail,
  }))
}

const RESPONSES: Record<string, { type: string, encoding?: string, body: Buffer }> = {
  '/v1/json': { type: 'application/json', body: jsonWithPii('END-OF-RESPONSE') },
  '/v1/gzip': { type: 'application/json', encoding: 'gzip', body: gzipSync(jsonWithPii('zipped')) },
  '/v1/binary': { type: 'application/octet-stream', body: randomBytes(5000) },
  '/v1/latin1': { type: 'text/plain', body: Buffer.from('caf\xe9 jane.doe@example.com \xff\xfe', 'latin1') },
}

let up: Upstream
let sluice: TestSluice
let n = 0

beforeAll(async () => {
  up = await startUpstream((req, res, body) => {
    const r = RESPONSES[req.url ?? '']
    if (r === undefined) {
      res.setHeader('x-got-sha', sha(body))
      res.end('{"ok":true}')
      return
    }
    res.writeHead(200, { 'content-type': r.type, ...(r.encoding === undefined ? {} : { 'content-encoding': r.encoding }) })
    res.end(r.body)
  })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\nlogging:\n  bodies: true\n  maxBodyBytes: ${MAX}b\n`,
    'quiet.yaml': `vendor: quiet\nupstream: ${up.url}\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

interface Call { status: number, body: Buffer, line: Record<string, unknown> }

async function call (vendor: string, path: string, opts: { method?: 'GET' | 'POST', body?: Buffer, headers?: Record<string, string> } = {}): Promise<Call> {
  const id = `body-${++n}`
  const res = await request(`${sluice.url}/${vendor}${path}`, { method: opts.method ?? 'GET', headers: { 'x-request-id': id, ...opts.headers }, ...(opts.body === undefined ? {} : { body: opts.body }) })
  const body = Buffer.from(await res.body.arrayBuffer())
  await eventually(() => requestLines(sluice).some(l => l.reqId === id))
  return { status: res.statusCode, body, line: requestLines(sluice).find(l => l.reqId === id)! }
}

function expectNoPii (s: unknown): void {
  expect(typeof s).toBe('string')
  for (const value of PII) expect(s as string, 'a PII value survived').not.toContain(value)
}

describe('a JSON request body', () => {
  it('is logged scrubbed and cut at maxBodyBytes; the vendor gets every byte unchanged', async () => {
    const sent = jsonWithPii('END-OF-REQUEST')
    const { status, line } = await call('acme', '/v1/charges', { method: 'POST', body: sent, headers: { 'content-type': 'application/json' } })
    expect(status).toBe(200)
    expect(sha(up.seen.at(-1)!.body)).toBe(sha(sent))
    const reqBody = line.reqBody as string
    expectNoPii(reqBody)
    expect(reqBody).toContain('[REDACTED]') //        password, by field name
    expect(reqBody).toContain('[REDACTED:email]') //  by pattern
    expect(reqBody.startsWith('{"user":{"email":')).toBe(true)
    expect(reqBody).not.toContain('END-OF-REQUEST')
    expect(reqBody.length).toBeLessThan(MAX + 100)
  })
})

describe('a JSON response body', () => {
  it('is logged scrubbed and cut; the client gets every byte the vendor sent', async () => {
    const { status, body, line } = await call('acme', '/v1/json')
    expect(status).toBe(200)
    expect(sha(body)).toBe(sha(RESPONSES['/v1/json']!.body))
    const resBody = line.resBody as string
    expectNoPii(resBody)
    expect(resBody).toContain('[REDACTED:email]')
    expect(resBody).not.toContain('END-OF-RESPONSE')
    expect(resBody.length).toBeLessThan(MAX + 100)
  })
})

describe('bodies that are not text', () => {
  it.each([
    ['/v1/gzip', 'a gzip response'],
    ['/v1/binary', 'an octet-stream response'],
    ['/v1/latin1', 'a text/plain response that is not UTF-8'],
  ])('%s (%s) is logged as its size and hash, and relayed intact', async (path) => {
    const sent = RESPONSES[path]!.body
    const { body, line } = await call('acme', path)
    expect(sha(body)).toBe(sha(sent))
    expect(line.resBody).toMatch(new RegExp(`^\\[binary ${sent.length} bytes sha256:[0-9a-f]{16}\\]$`))
  })

  it('a gzip request body is logged as its size and hash, and reaches the vendor intact', async () => {
    const sent = gzipSync(jsonWithPii('zipped request'))
    const { line } = await call('acme', '/v1/upload', { method: 'POST', body: sent, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    expect(sha(up.seen.at(-1)!.body)).toBe(sha(sent))
    expect(line.reqBody).toMatch(new RegExp(`^\\[binary ${sent.length} bytes sha256:[0-9a-f]{16}\\]$`))
  })
})

describe('logging.bodies off (the default)', () => {
  it('logs no body at all', async () => {
    const { line } = await call('quiet', '/v1/json', { method: 'POST', body: jsonWithPii('x'), headers: { 'content-type': 'application/json' } })
    expect(line.reqBody).toBeUndefined()
    expect(line.resBody).toBeUndefined()
  })
})
