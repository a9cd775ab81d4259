// replay reads the request lines exactly as sluice writes them (the real
// writer, formatRequestLine), in arrival order, whatever else a line holds.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatRequestLine, type RequestLine } from '../../src/observability/request-line.js'
import { readRequestLog } from '../../src/replay/log-reader.js'
import type { ReplayCall } from '../../src/replay/simulate.js'

const BASE: RequestLine = { reqId: 'r', vendor: 'acme', method: 'GET', path: '/acme/v1/x', status: 200, durationMs: 0, upstreamMs: 0, attempts: 1, waitMs: 0, error: undefined }

describe('readRequestLog', () => {
  it('takes vendor, method, path, keys and arrival time from each line, in arrival order', async () => {
    const lines = [
      // ends last, arrived first
      formatRequestLine({ ...BASE, reqId: 'slow', durationMs: 900.5, keys: { tenant: 'abcdef0123456789' } }, 10_000),
      // a body that looks like fields, and a path with an escape: still read right
      formatRequestLine({ ...BASE, reqId: 'body', method: 'POST', path: '/acme/v1/"q"', reqBody: { vendor: 'evil', note: ',"vendor":"evil","keys":{"tenant":"x"}' }, durationMs: 1 }, 9_500),
      formatRequestLine({ ...BASE, reqId: 'noroute', vendor: undefined, path: '/nowhere', status: 404, error: 'no_route', reqBody: { a: 1, vendor: 'evil', keys: { tenant: 'x' } } }, 9_200),
      '{"level":"info","time":9300,"msg":"listening"}\n',
    ]
    const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-read-'))
    // the order of a log: by end time
    writeFileSync(join(dir, 'log'), [lines[2], lines[3], lines[1], lines[0]].join(''))
    const calls: ReplayCall[] = []
    const stats = await readRequestLog(join(dir, 'log'), 60_000, c => { calls.push(c) })
    expect(stats).toEqual({ lines: 4, calls: 3, skipped: 0 })
    expect(calls.map(c => ({ at: c.at, vendor: c.vendor, method: c.method, path: c.path, keys: c.keys }))).toEqual([
      { at: 9_099.5, vendor: 'acme', method: 'GET', path: '/acme/v1/x', keys: { tenant: 'abcdef0123456789' } },
      { at: 9_200, vendor: undefined, method: 'GET', path: '/nowhere', keys: undefined },
      { at: 9_499, vendor: 'acme', method: 'POST', path: '/acme/v1/"q"', keys: undefined },
    ])
  })
})
