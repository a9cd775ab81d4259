// The id a call is known by in its answer (x-request-id) and its log line.
import type { IncomingMessage } from 'node:http'
import { randomFillSync } from 'node:crypto'
import { compileTextPatterns } from '../observability/patterns.js'

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/
// The request id is logged as it is, so one holding PII is not kept. Not the
// apikey rule: it takes 32-hex ids (nginx $request_id, trace ids) for keys.
const REQUEST_ID_PII = compileTextPatterns(['email', 'card', 'ssn', 'phone', 'iban', 'jwt', 'bearer'])

/** The client's own x-request-id when it is sane and holds no PII, else a new one. */
export function requestIdOf (req: IncomingMessage): string {
  const id = req.headers['x-request-id']
  return typeof id === 'string' && REQUEST_ID.test(id) && REQUEST_ID_PII(id) === id ? id : newRequestId()
}

// A version 4 UUID, as crypto.randomUUID() makes, written as bytes into one
// buffer and read out as one flat string: randomUUID() joins its text from
// pieces, about half a kilobyte of short-lived strings per call.
const HEX = Buffer.from('0123456789abcdef', 'latin1')
const POOL_BYTES = 16 * 256
const pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES))
let used = 0
const text = Buffer.allocUnsafe(36)

export function newRequestId (): string {
  if (used === POOL_BYTES) {
    randomFillSync(pool)
    used = 0
  }
  let j = 0
  for (let i = 0; i < 16; i++) {
    let b = pool[used + i] as number
    if (i === 6) b = (b & 0x0f) | 0x40 //        version 4
    else if (i === 8) b = (b & 0x3f) | 0x80 //   variant 10xx
    text[j++] = HEX[b >> 4] as number
    text[j++] = HEX[b & 15] as number
    if (i === 3 || i === 5 || i === 7 || i === 9) text[j++] = 45 // '-'
  }
  used += 16
  return text.toString('latin1', 0, 36)
}
