// One OAuth2 client-credentials token request (RFC 6749 section 4.4), over
// undici with its own short timeouts so a stuck token endpoint cannot hold a
// vendor's calls for the vendor's whole deadline.
//
// The response body carries the token: it is never logged, never put into an
// error. A failure is described by a fixed vocabulary only (status, an error
// code, or one of the standard OAuth2 error names) so nothing the token server
// sends can reach a log line.
import { request, type Dispatcher } from 'undici'

export interface TokenTimeouts {
  connectMs: number
  /** until the response headers, and between body chunks */
  readMs: number
  /** the whole request */
  totalMs: number
}

export const DEFAULT_TOKEN_TIMEOUTS: TokenTimeouts = Object.freeze({ connectMs: 5000, readMs: 5000, totalMs: 10_000 })

export interface TokenRequest {
  tokenUrl: string
  clientId: string
  clientSecret: string
  scopes: readonly string[]
  audience: string | undefined
}

export interface Token {
  accessToken: string
  /** seconds, as the server sent it; undefined when absent or unusable */
  expiresIn: number | undefined
}

/** A failure safe to log: its message is built from fixed words and numbers only. */
export class TokenRequestError extends Error {
  /** the HTTP status, when the server answered */
  readonly status: number | undefined
  /** a standard OAuth2 error name from the answer (invalid_client, ...) */
  readonly oauthError: string | undefined

  constructor (message: string, opts: { status?: number, oauthError?: string } = {}) {
    super(message)
    this.name = 'TokenRequestError'
    this.status = opts.status
    this.oauthError = opts.oauthError
  }
}

const MAX_BODY_BYTES = 64 * 1024
// RFC 6749 section 5.2: the only error names we repeat, since they are a closed list.
const OAUTH_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'])
// A bearer token is a b64token (RFC 6750); anything outside printable ASCII
// would be refused by the HTTP client, or worse, split a header.
const USABLE_TOKEN = /^[\x21-\x7e]+$/
const ERROR_CODE = /^[A-Z][A-Z0-9_]*$/

/** Fetches a token; rejects with TokenRequestError only. */
export async function requestToken (req: TokenRequest, dispatcher: Dispatcher, timeouts: TokenTimeouts): Promise<Token> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' })
  if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '))
  if (req.audience !== undefined) form.set('audience', req.audience)

  let res: Dispatcher.ResponseData
  try {
    res = await request(req.tokenUrl, {
      method: 'POST',
      dispatcher,
      headers: {
        authorization: basicAuth(req.clientId, req.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      headersTimeout: timeouts.readMs,
      bodyTimeout: timeouts.readMs,
      signal: AbortSignal.timeout(timeouts.totalMs),
    })
  } catch (err) {
    throw transportError(err)
  }

  let text: string
  try {
    text = await readLimited(res.body)
  } catch (err) {
    throw transportError(err)
  }

  const json = parseJson(text)
  if (res.statusCode < 200 || res.statusCode > 299) {
    const named = json?.['error']
    const oauthError = typeof named === 'string' && OAUTH_ERRORS.has(named) ? named : undefined
    throw new TokenRequestError(`token endpoint answered ${res.statusCode}${oauthError ? ` ${oauthError}` : ''}`,
      oauthError === undefined ? { status: res.statusCode } : { status: res.statusCode, oauthError })
  }
  const accessToken = json?.['access_token']
  if (typeof accessToken !== 'string' || !USABLE_TOKEN.test(accessToken)) {
    throw new TokenRequestError('token endpoint answered without a usable access_token', { status: res.statusCode })
  }
  return { accessToken, expiresIn: seconds(json?.['expires_in']) }
}

/**
 * RFC 6749 section 2.3.1: each part form-urlencoded, then joined by ":" and
 * base64-encoded, so a ":" inside a client id survives.
 */
export function basicAuth (clientId: string, clientSecret: string): string {
  return 'Basic ' + Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')
}

function formEncode (s: string): string {
  return new URLSearchParams([['', s]]).toString().slice(1)
}

async function readLimited (body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      throw new TokenRequestError('token endpoint answered with an oversized body')
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

// JSON.parse's own error message quotes the text it choked on: never let it out.
function parseJson (text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function seconds (v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
}

function transportError (err: unknown): TokenRequestError {
  if (err instanceof TokenRequestError) return err
  const e = err as { code?: unknown, name?: unknown }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new TokenRequestError('token request timed out')
  const code = typeof e.code === 'string' && ERROR_CODE.test(e.code) ? e.code : 'unknown error'
  if (code.includes('TIMEOUT')) return new TokenRequestError(`token request timed out (${code})`)
  return new TokenRequestError(`token request failed (${code})`)
}
