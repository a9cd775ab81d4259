// The request line as logCall writes it, straight into stdout's batch buffer
// (src/observability/line-writer.ts) or, for any other destination, as a
// string, must be byte for byte the line formatRequestLine builds from the same
// call: every combination of fields, whatever their strings hold (multi-byte
// UTF-8, quotes, backslashes, control chars, lone surrogates), every number as
// String() writes it, in a batch with room, in a fresh one, or larger than one.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import fc from 'fast-check'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LineBatcher } from '../../src/observability/line-batcher.js'
import { createLogger, type Logger } from '../../src/observability/logger.js'
import { formatRequestLine, logCall, type LineExtras, type LoggedCall, type RequestLine } from '../../src/observability/request-line.js'

const TIME = 1_700_000_000_123

/** One call as finish hands it over, and the line finish built for it before logCall. */
interface Case {
  call: LoggedCall
  vendor: string | undefined
  path: string
  status: number
  durationMs: number
  error: string | undefined
  cause: string | undefined
  extras: LineExtras | undefined
}

function expected (c: Case): RequestLine {
  const call = c.call
  const line: RequestLine = {
    reqId: call.requestId,
    vendor: c.vendor,
    method: call.method,
    path: c.path,
    status: c.status,
    durationMs: c.durationMs,
    upstreamMs: Math.round((call.upstreamMs ?? 0) * 10) / 10,
    attempts: call.attempts ?? 0,
    waitMs: Math.round(call.waitMs ?? 0),
    error: c.error,
  }
  if (call.trace !== undefined) line.traceId = call.trace.traceId
  if (c.cause !== undefined) line.cause = c.cause
  if (call.wouldLimit === true) line.wouldLimit = true
  if (call.cutOff === true) line.cutOff = true
  if (call.clientGone === true) line.clientGone = true
  if (c.extras?.keys !== undefined) line.keys = c.extras.keys
  if (call.rateBucket !== undefined) line.bucket = call.rateBucket
  if (call.cost !== undefined && call.cost !== 1) line.cost = call.cost
  if (c.extras?.reqBody !== undefined) line.reqBody = c.extras.reqBody
  if (c.extras?.resBody !== undefined) line.resBody = c.extras.resBody
  return line
}

const log = (logger: Logger, c: Case): void => logCall(logger, c.call, c.vendor, c.path, c.status, c.durationMs, c.error, c.cause, c.extras)
const want = (cases: Case[]): string => Buffer.from(cases.map(c => formatRequestLine(expected(c), TIME)).join('')).toString('latin1')

const dir = mkdtempSync(join(tmpdir(), 'sluice-request-line-'))
let files = 0
const fds: number[] = []

/** A logger whose destination is a LineBatcher on a file, and the bytes the file holds so far. */
function batched (batchBytes: number): { logger: Logger, batcher: LineBatcher, bytes: () => string } {
  const path = join(dir, `out-${files++}.log`)
  const fd = openSync(path, 'w')
  fds.push(fd)
  const batcher = new LineBatcher(fd, { batchBytes, flushMs: 60_000, maxPendingBytes: 1 << 24 })
  return { logger: createLogger('info', batcher), batcher, bytes: () => readFileSync(path).toString('latin1') }
}

/** A logger whose destination is a plain stream (as the tests' sluice has): the string path. */
function sunk (): { logger: Logger, bytes: () => string } {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      cb()
    },
  })
  return { logger: createLogger('info', sink), bytes: () => Buffer.concat(chunks).toString('latin1') }
}

const flushed = (b: LineBatcher): Promise<void> => new Promise(resolve => b.flush(resolve))

const AWKWARD = [
  '', 'plain', 'quote " inside', 'back\\slash', 'tab\there', 'new\nline', 'cr\r', '\u007f del',
  String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)),
  '\u2028\u2029', 'émoji 🚀', 'lone \ud800 surrogate', 'low \udfff first', 'ends high \udbff', '\udc00', '</script>',
  '{"json":"in a string"}', 'ÿ latin1 top', '中文路径', 'esc \u001b[31m red', 'unit \u001f sep',
]

const NUMBERS = [
  0, -0, 1, 7, 10, 99, 100, 200, 499, 1000, 12.3, 10.1, 0.1, 0.5, 0.9, 1.1, 99.9, 100.1, 1234567.8,
  0.05, 0.25, 1.25, 0.30000000000000004, 1e-7, 1.5e-7, 123e-20, 1e21, 1.5e21, 2 ** 53, 2 ** 53 + 2,
  99999999999999.9, 100000000000000, 100000000000000.1, 999999999999999.9, 1e15 - 1, 1e16,
  -1, -1.5, -0.1, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, TIME,
]

const BASE: Case = {
  call: { requestId: 'r-1', method: 'GET', upstreamMs: 10.12, attempts: 1, waitMs: 0 },
  vendor: 'stripe',
  path: '/stripe/v1/charges?limit=3',
  status: 200,
  durationMs: 12.3,
  error: undefined,
  cause: undefined,
  extras: undefined,
}

/** Each string field of the line holding `s`. */
function everywhere (s: string): Case[] {
  return [
    { ...BASE, call: { ...BASE.call, requestId: s } },
    { ...BASE, call: { ...BASE.call, method: s } },
    { ...BASE, vendor: s },
    { ...BASE, path: s },
    { ...BASE, error: s },
    { ...BASE, error: 'upstream_error', cause: s },
    { ...BASE, call: { ...BASE.call, trace: { traceId: s } } },
    { ...BASE, call: { ...BASE.call, rateBucket: s } },
    { ...BASE, extras: { keys: { [s]: s, tenant: s } } },
    { ...BASE, extras: { reqBody: s, resBody: { note: s, list: [s, 1, null] } } },
  ]
}

const TABLE: Case[] = [
  BASE,
  { ...BASE, vendor: undefined, status: 404, error: 'no_route' },
  { ...BASE, call: { requestId: 'l-1', method: '-' }, path: '-', status: 400, error: 'bad_request' }, // a listener answer
  {
    ...BASE,
    call: { ...BASE.call, attempts: 3, waitMs: 250.4, wouldLimit: true, cutOff: true, clientGone: true, trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }, rateBucket: 'per-second', cost: 5 },
    status: 499,
    error: 'client_gone',
    cause: 'ECONNRESET',
    extras: { keys: { tenant: 'abcdef0123456789' }, reqBody: { a: 1 }, resBody: 'ok' },
  },
  { ...BASE, call: { ...BASE.call, cost: 1 } }, // a cost of 1 is not logged
  { ...BASE, call: { ...BASE.call, cost: 2.5 }, extras: { keys: undefined, reqBody: undefined, resBody: undefined } },
  { ...BASE, extras: { reqBody: () => 1 } }, // what JSON cannot hold: concatenated as "undefined"
  ...AWKWARD.flatMap(everywhere),
  ...NUMBERS.flatMap(n => [
    { ...BASE, durationMs: n },
    { ...BASE, status: n },
    { ...BASE, call: { ...BASE.call, upstreamMs: n, attempts: n, waitMs: n, cost: n } },
  ]),
]

beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'], now: TIME }) })
afterEach(() => { vi.useRealTimers() })
afterAll(() => { for (const fd of fds.splice(0)) closeSync(fd) })

describe('logCall writes the bytes formatRequestLine builds', () => {
  it.each([96, 512, 32 * 1024])('for every field and awkward value, in place into %i-byte batches', async (batchBytes) => {
    const out = batched(batchBytes)
    const asString = vi.spyOn(out.batcher, 'write')
    const fresh = vi.spyOn(out.batcher, 'freshBatch')
    for (const c of TABLE) log(out.logger, c)
    await flushed(out.batcher)
    expect(out.bytes()).toBe(want(TABLE))
    // each way a line goes in: where there is room, into a fresh batch, larger than a batch (as a string)
    if (batchBytes === 32 * 1024) expect(asString).not.toHaveBeenCalled()
    else expect(fresh.mock.results.map(r => r.value)).toEqual(expect.arrayContaining([true, false]))
    if (batchBytes === 96) expect(asString).toHaveBeenCalled()
  })

  it('for every field and awkward value, as a string for a destination that is no batcher', () => {
    const out = sunk()
    for (const c of TABLE) log(out.logger, c)
    expect(out.bytes()).toBe(want(TABLE))
  })

  it('whatever the call holds (random calls, in place and as a string)', async () => {
    const outs = [batched(128), batched(700), batched(32 * 1024)]
    const strings = sunk()
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
      fc.constantFrom(...AWKWARD),
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.integer({ min: 0, max: 0xffff }).map(c => String.fromCharCode(c)) // lone surrogates among them
    )
    const text = fc.array(piece, { maxLength: 6 }).map(p => p.join(''))
    const number = fc.oneof(
      fc.constantFrom(...NUMBERS),
      fc.nat(100_000),
      fc.nat(10_000_000).map(k => k / 10),
      fc.maxSafeNat().map(k => k / 10),
      fc.double()
    )
    const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined })
    const json = fc.oneof(fc.jsonValue(), text, fc.dictionary(text, text, { maxKeys: 3 }))
    const call = fc.record({
      call: fc.record({
        requestId: text,
        method: text,
        upstreamMs: opt(number),
        attempts: opt(number),
        waitMs: opt(number),
        wouldLimit: opt(fc.boolean()),
        cutOff: opt(fc.boolean()),
        clientGone: opt(fc.boolean()),
        trace: opt(fc.record({ traceId: text })),
        rateBucket: opt(text),
        cost: opt(fc.oneof(number, fc.constant(1))),
      }, { requiredKeys: ['requestId', 'method'] }),
      vendor: opt(text),
      path: text,
      status: number,
      durationMs: number,
      error: opt(text),
      cause: opt(text),
      extras: opt(fc.record({ keys: opt(fc.dictionary(text, text, { maxKeys: 3 })), reqBody: opt(json), resBody: opt(json) })),
    }) as fc.Arbitrary<Case>
    await fc.assert(fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 12 }), fc.nat(2), async (cases, which) => {
      const out = outs[which] as typeof outs[number]
      const before = out.bytes().length
      const stringsBefore = strings.bytes().length
      for (const c of cases) {
        log(out.logger, c)
        log(strings.logger, c)
      }
      await flushed(out.batcher)
      const expect_ = want(cases)
      expect(out.bytes().slice(before)).toBe(expect_)
      expect(strings.bytes().slice(stringsBefore)).toBe(expect_)
    }), { numRuns: 300 })
  })
})
