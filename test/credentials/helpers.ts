// Test helpers for credentials: a compiled VendorPolicy built locally (the
// policy loader is not a dependency of these tests), a logger that records,
// a clock the test moves, and a stand-in OAuth2 token server on a real socket.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { InjectPolicy, OAuth2Policy, VendorPolicy } from '../../src/policy/types.js'

export function vendorPolicy (inject: Partial<InjectPolicy>, vendor = 'acme'): VendorPolicy {
  return {
    vendor,
    upstream: 'https://api.acme.test',
    origin: 'https://api.acme.test',
    hostname: 'api.acme.test',
    hostHeader: 'api.acme.test',
    basePath: '',
    ipLiteral: false,
    file: `/policies/${vendor}.yaml`,
    routes: { prefix: `/${vendor}`, hosts: [], allow: undefined },
    timeouts: { connectMs: 5000, readMs: 30_000, totalMs: 60_000 },
    limits: { bodyBytes: 10 * 1024 * 1024, concurrency: 256 },
    network: { allowPrivate: false },
    rateLimit: { mode: 'enforce', failMode: 'open', buckets: [], upstream: { retryAfter: true, remainingHeader: undefined, resetHeader: undefined } },
    retry: {
      attempts: 3,
      backoff: { initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 'full' },
      on: ['connect-error', 'timeout', 429, 502, 503, 504],
      respectRetryAfter: true,
      idempotentOnly: true,
      budget: 0.2,
      maxBufferedBodyBytes: 1024 * 1024,
    },
    idempotency: { header: 'idempotency-key', generate: new Set(['POST']) },
    circuitBreaker: { enabled: true, failureRate: 0.1, minimumRequests: 20, windowMs: 10_000, openForMs: 60_000, failOn: ['5xx', 'timeout', 'connect-error'], bodyRule: undefined },
    inject: { headers: {}, query: {}, strip: [], oauth2: undefined, ...inject },
    logging: { bodies: false, maxBodyBytes: 4096, redact: { headers: [], fields: [], query: [], patterns: [] } },
  }
}

export function oauth2Policy (tokenUrl: string, more: Partial<OAuth2Policy> = {}): OAuth2Policy {
  return { tokenUrl, clientId: '${env:CLIENT_ID}', clientSecret: '${env:CLIENT_SECRET}', scopes: [], audience: undefined, header: 'Authorization', ...more } // eslint-disable-line no-template-curly-in-string
}

export interface LogLine { level: 'error' | 'info' | 'warn', obj: object, msg: string }

export function recordingLogger () {
  const lines: LogLine[] = []
  return {
    lines,
    logger: {
      error: (obj: object, msg: string) => { lines.push({ level: 'error', obj, msg }) },
      info: (obj: object, msg: string) => { lines.push({ level: 'info', obj, msg }) },
      warn: (obj: object, msg: string) => { lines.push({ level: 'warn', obj, msg }) },
    },
    /** everything logged, as one string to search for leaks */
    text: () => JSON.stringify(lines),
  }
}

/** A clock the test moves by hand, in milliseconds. */
export function manualClock (start = 1000) {
  const clock = { t: start, now: () => clock.t }
  return clock
}

export interface TokenRequestSeen { authorization: string | undefined, contentType: string | undefined, body: URLSearchParams }
type Responder = (req: TokenRequestSeen, n: number, res: ServerResponse) => void

/** A token endpoint on 127.0.0.1 that counts calls and answers with `respond`. */
export async function tokenServer (respond: Responder) {
  const seen: TokenRequestSeen[] = []
  const state = { respond }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => {
      const r = { authorization: req.headers.authorization, contentType: req.headers['content-type'], body: new URLSearchParams(body) }
      seen.push(r)
      state.respond(r, seen.length, res)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    seen,
    get calls () { return seen.length },
    /** answers the next requests differently */
    setResponder: (fn: Responder) => { state.respond = fn },
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** Answers a token as JSON, optionally after a delay. */
export function sendToken (res: ServerResponse, token: string, expiresIn?: number, delayMs = 0): void {
  const body = JSON.stringify({ access_token: token, token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) })
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(body)
  }, delayMs)
}

/** Polls `check` until it returns true, for at most `ms`: only for tests that wait on the file system. */
export async function eventually (check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
