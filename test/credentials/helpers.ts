// Test helpers for credentials: a compiled VendorPolicy from the policy file's
// `inject` section (through test/helpers/policy.ts), a logger that records, a
// clock the test moves, and a stand-in OAuth2 token server on a real socket.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OAuth2Policy, VendorPolicy } from '../../src/policy/types.js'
import { vendorPolicy as compiledPolicy, type RawPolicy } from '../helpers/policy.js'

/** The `inject` section of a policy file, as written in YAML. */
type InjectSection = NonNullable<RawPolicy['inject']>
type OAuth2Section = NonNullable<InjectSection['oauth2']>

export function vendorPolicy (inject: InjectSection, vendor = 'acme'): VendorPolicy {
  return compiledPolicy({ vendor, inject })
}

/** The `inject.oauth2` section of a policy file, client credentials from the environment. */
export function oauth2Section (tokenUrl: string, more: Partial<OAuth2Section> = {}): OAuth2Section {
  return { tokenUrl, clientId: '${env:CLIENT_ID}', clientSecret: '${env:CLIENT_SECRET}', ...more }
}

/** That section compiled, for tests of the token schedule alone. */
export function oauth2Policy (tokenUrl: string, more: Partial<OAuth2Section> = {}): OAuth2Policy {
  const compiled = vendorPolicy({ oauth2: oauth2Section(tokenUrl, more) }).inject.oauth2
  if (compiled === undefined) throw new Error('an oauth2 section compiled to nothing')
  return compiled
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
