// Regressions found through a real sluice: a non-ASCII e-mail address, and the
// first groups of a card number left standing where a logged body is cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice
let n = 0

beforeAll(async () => {
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\nlogging:\n  bodies: true\n`,
    // Cut right after the third group of a card number (see below).
    'cut.yaml': `vendor: cut\nupstream: ${up.url}\nlogging:\n  bodies: true\n  maxBodyBytes: 20b\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function loggedBody (vendor: string, text: string): Promise<string> {
  const id = `gap-${++n}`
  const res = await request(`${sluice.url}/${vendor}/v1/notes`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain', 'x-request-id': id } })
  await res.body.dump()
  await eventually(() => requestLines(sluice).some(l => l.reqId === id))
  return requestLines(sluice).find(l => l.reqId === id)!.reqBody as string
}

describe('scrubber regressions', () => {
  it('an e-mail address with a non-ASCII local part is scrubbed', async () => {
    // "josé@example.com" is not matched at all: the local part is ASCII-only
    // and the é also stops a match from starting after it.
    expect(await loggedBody('acme', 'contact josé@example.com today')).not.toContain('@example.com')
  })

  it('a card number cut by maxBodyBytes leaves no more than its first digits', async () => {
    // "card 4111 1111 1111 1111 end" cut at 20 bytes logs "card 4111 1111 1111":
    // 12 of the 16 digits (PCI DSS allows at most the first 6 and last 4).
    expect(await loggedBody('cut', 'card 4111 1111 1111 1111 end')).not.toContain('4111 1111 1111')
  })
})
