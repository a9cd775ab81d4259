// The one log line per call (SPEC section 5): msg "request" at info with
// reqId, vendor, method, path (query values of redacted keys masked), status,
// durationMs, upstreamMs, attempts, waitMs and, for sluice's own answers,
// error. Exactly one per call, however the call ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually, freePort } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice
let n = 0

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    if (req.url?.startsWith('/v1/boom') === true) res.writeHead(500)
    res.end('{"ok":true}')
  })
  sluice = await startTestSluice({
    'acme.yaml': [
      'vendor: acme',
      `upstream: ${up.url}`,
      'routes:',
      '  allow: [{ methods: [GET, POST], paths: ["/v1/**"] }]',
      'logging:',
      '  redact:',
      '    query: [session]',
      '',
    ].join('\n'),
    // One token, refilled every 500 ms: of two calls at once, one waits for it.
    'slow.yaml': `vendor: slow\nupstream: ${up.url}\nrateLimit:\n  buckets:\n    - { name: b, capacity: 1, refill: 2/s, onLimit: queue, maxWait: 2s }\n`,
    'dead.yaml': `vendor: dead\nupstream: http://127.0.0.1:${await freePort()}\nretry: { attempts: 1 }\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** Makes one call with a fresh request id; returns that call's log lines once written. */
async function logged (path: string, method: 'GET' | 'POST' | 'DELETE' = 'GET'): Promise<Array<Record<string, unknown>>> {
  const id = `line-${++n}`
  const res = await request(`${sluice.url}${path}`, { method, headers: { 'x-request-id': id } })
  await res.body.dump()
  await eventually(() => requestLines(sluice).some(l => l.reqId === id))
  // A second line for this call would be written before the line of a call
  // made after it: wait for that later line rather than for a guessed pause.
  const after = `${id}-after`
  await (await request(`${sluice.url}/no-such-vendor/x`, { headers: { 'x-request-id': after } })).body.dump()
  await eventually(() => requestLines(sluice).some(l => l.reqId === after))
  return requestLines(sluice).filter(l => l.reqId === id)
}

describe('a forwarded call', () => {
  it('writes one line with every field, and no error', async () => {
    const lines = await logged('/acme/v1/charges?limit=3', 'POST')
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    expect(line).toMatchObject({ level: 'info', reqId: 'line-1', vendor: 'acme', method: 'POST', path: '/acme/v1/charges?limit=3', status: 200, attempts: 1, waitMs: 0 })
    expect(line.error).toBeUndefined()
    expect(typeof line.durationMs).toBe('number')
    expect(typeof line.upstreamMs).toBe('number')
    expect(line.upstreamMs as number).toBeGreaterThan(0)
    expect(line.durationMs as number).toBeGreaterThanOrEqual(line.upstreamMs as number)
  })

  it('a vendor 500 is relayed: its status, no sluice error', async () => {
    const [line] = await logged('/acme/v1/boom')
    expect(line).toMatchObject({ status: 500, attempts: 1 })
    expect(line!.error).toBeUndefined()
  })

  it('counts the time queued for a rate-limit token in waitMs', async () => {
    // Two calls at once on a one-token bucket: one goes at once, one waits for the refill.
    const [a, b] = await Promise.all([logged('/slow/v1/a'), logged('/slow/v1/b')])
    const lines = [a![0]!, b![0]!].sort((x, y) => (x.waitMs as number) - (y.waitMs as number))
    expect(lines.map(l => l.status)).toEqual([200, 200])
    expect(lines[0]!.waitMs).toBe(0)
    expect(lines[1]!.waitMs as number).toBeGreaterThanOrEqual(250)
    expect(lines[1]!.durationMs as number).toBeGreaterThanOrEqual(lines[1]!.waitMs as number)
  })
})

describe('an answer of sluice\'s own', () => {
  it.each([
    ['/acme/v2/outside', 'GET', 403, 'not_allowed', 'acme', 0],
    ['/acme/v1/x', 'DELETE', 403, 'not_allowed', 'acme', 0],
    ['/nobody/v1/x', 'GET', 404, 'no_route', undefined, 0],
    ['/acme/v1/..%2f..%2fetc', 'GET', 400, 'bad_request', 'acme', 0],
    ['/dead/v1/x', 'GET', 502, 'upstream_unreachable', 'dead', 1],
  ] as const)('%s %s: one line with status %i and error %s', async (path, method, status, error, vendor, attempts) => {
    const lines = await logged(path, method)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ status, error, attempts, method, waitMs: 0 })
    expect(lines[0]!.vendor).toBe(vendor)
  })
})

describe('the path in the line', () => {
  it('masks values of redacted query keys (built-in and configured), patterns in the rest', async () => {
    const [line] = await logged('/acme/v1/search?token=abc123secret&email=a%40b.com&session=s-99&q=shoes&api_key=k1')
    expect(line!.path).toBe('/acme/v1/search?token=[REDACTED]&email=[REDACTED:email]&session=[REDACTED]&q=shoes&api_key=[REDACTED]')
  })

  it('masks PII in path segments, percent-encoded or not', async () => {
    const [line] = await logged('/acme/v1/users/jane.doe%40example.com/cards/4111111111111111')
    expect(line!.path).toBe('/acme/v1/users/[REDACTED:email]/cards/[REDACTED:card]')
  })
})
