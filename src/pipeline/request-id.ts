// The id a call is known by in its answer (x-request-id) and its log line.
import type { IncomingMessage } from 'node:http'
import { randomUUID } from 'node:crypto'
import { compileTextPatterns } from '../observability/patterns.js'

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/
// The request id is logged as it is, so one holding PII is not kept. Not the
// apikey rule: it takes 32-hex ids (nginx $request_id, trace ids) for keys.
const REQUEST_ID_PII = compileTextPatterns(['email', 'card', 'ssn', 'phone', 'iban', 'jwt', 'bearer'])

/** The client's own x-request-id when it is sane and holds no PII, else a new one. */
export function requestIdOf (req: IncomingMessage): string {
  const id = req.headers['x-request-id']
  return typeof id === 'string' && REQUEST_ID.test(id) && REQUEST_ID_PII(id) === id ? id : randomUUID()
}
