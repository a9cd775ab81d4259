// The OAuth2 access token of one vendor, shared by all its calls.
//
// - Single flight: however many calls need a token at once, one request is made
//   and every caller waits on it.
// - Renewal before expiry: once a token is past its refresh point, a call still
//   gets it at once while a new one is fetched in the background; only a call
//   that finds the token expired waits.
// - A failed fetch fails the calls waiting on it and sets a backoff (1 s, 2 s,
//   ... up to 30 s): until then a call is refused at once, so an auth outage is
//   never hammered in a loop by the traffic behind it.
import { Agent } from 'undici'
import { SluiceError } from '../errors.js'
import type { OAuth2Policy } from '../policy/types.js'
import { DEFAULT_TOKEN_TIMEOUTS, TokenRequestError, requestToken, type TokenTimeouts } from './token-request.js'

export const DEFAULT_EXPIRES_IN_SEC = 3600
const BACKOFF_INITIAL_MS = 1000
const BACKOFF_MAX_MS = 30_000

export interface CredentialLogger {
  error (o: object, m: string): void
  info (o: object, m: string): void
  warn (o: object, m: string): void
}

export interface OAuth2TokenOptions {
  vendor: string
  policy: OAuth2Policy
  /** the client id and secret as they are now; throws credential_unavailable when one cannot be had */
  client: () => { id: string, secret: string }
  logger: CredentialLogger
  /** monotonic milliseconds */
  now: () => number
  timeouts?: TokenTimeouts
  /** the token request; tests of the schedule pass a stand-in */
  request?: typeof requestToken
}

/**
 * When to fetch the next token, in ms after the request for this one was sent:
 * at 80 % of its lifetime or 60 s before it ends, whichever is earlier, but
 * not before half of it, so a short-lived token is not fetched in a loop.
 */
export function refreshAfterMs (expiresInSec: number): number {
  const life = expiresInSec * 1000
  return Math.max(Math.min(0.8 * life, life - 60_000), 0.5 * life)
}

/**
 * When to stop using a token: a little before the server's expiry (10 % of its
 * lifetime, at most 10 s), for clock skew and the time the call takes to land.
 */
export function usableForMs (expiresInSec: number): number {
  const life = expiresInSec * 1000
  return life - Math.min(0.1 * life, 10_000)
}

export class OAuth2Token {
  /** the current access token, if any */
  token: string | undefined
  /** the token before it, which calls in flight may still carry */
  previous: string | undefined

  readonly #opts: OAuth2TokenOptions
  readonly #agent: Agent
  readonly #timeouts: TokenTimeouts
  readonly #logUrl: string
  #refreshAt = 0
  #expiresAt = 0
  #inflight: Promise<string> | undefined
  #failures = 0
  #retryAt = 0
  #lastError: TokenRequestError | undefined

  constructor (opts: OAuth2TokenOptions) {
    this.#opts = opts
    this.#timeouts = opts.timeouts ?? DEFAULT_TOKEN_TIMEOUTS
    this.#agent = new Agent({ connect: { timeout: this.#timeouts.connectMs } })
    this.#logUrl = logUrl(opts.policy.tokenUrl)
  }

  /** true while the last fetch failed and no usable token is held */
  get failing (): boolean {
    return this.#lastError !== undefined && (this.token === undefined || this.#opts.now() >= this.#expiresAt)
  }

  /** Throws what current() would throw at once: no usable token, and the next fetch not due yet. Never fetches. */
  check (): void {
    const now = this.#opts.now()
    if ((this.token === undefined || now >= this.#expiresAt) && this.#inflight === undefined && now < this.#retryAt) throw this.#unavailable()
  }

  /** The token for a call: sync while one is usable, else the fetch every caller shares. */
  current (): string | Promise<string> {
    const now = this.#opts.now()
    if (this.token !== undefined && now < this.#expiresAt) {
      if (now >= this.#refreshAt && this.#inflight === undefined && now >= this.#retryAt) {
        // Background renewal: a failure here is logged and retried later, the
        // current token keeps serving.
        this.#fetch().catch(() => {})
      }
      return this.token
    }
    if (this.#inflight === undefined && now < this.#retryAt) throw this.#unavailable()
    return this.#fetch()
  }

  /** Forces a new token (the vendor answered 401); joins a fetch already under way. */
  async renew (): Promise<void> {
    if (this.#inflight === undefined && this.#opts.now() < this.#retryAt) throw this.#unavailable()
    await this.#fetch()
  }

  close (): void {
    this.#agent.close().catch(() => {})
  }

  /** The one token request under way, started if there is none. */
  #fetch (): Promise<string> {
    this.#inflight ??= this.#request().finally(() => { this.#inflight = undefined })
    return this.#inflight
  }

  async #request (): Promise<string> {
    const { vendor, policy, logger, now } = this.#opts
    const client = this.#opts.client()
    const sentAt = now()
    let token
    try {
      token = await (this.#opts.request ?? requestToken)({
        tokenUrl: policy.tokenUrl,
        clientId: client.id,
        clientSecret: client.secret,
        scopes: policy.scopes,
        audience: policy.audience,
      }, this.#agent, this.#timeouts)
    } catch (err) {
      const safe = err instanceof TokenRequestError ? err : new TokenRequestError('token request failed')
      this.#failures++
      const backoff = Math.min(BACKOFF_INITIAL_MS * 2 ** (this.#failures - 1), BACKOFF_MAX_MS)
      this.#retryAt = now() + backoff
      this.#lastError = safe
      logger.error({ vendor, tokenUrl: this.#logUrl, reason: safe.message, failures: this.#failures, retryInMs: backoff },
        'oauth2 token request failed')
      throw this.#unavailable()
    }
    const expiresIn = token.expiresIn ?? DEFAULT_EXPIRES_IN_SEC
    this.#refreshAt = sentAt + refreshAfterMs(expiresIn)
    this.#expiresAt = sentAt + usableForMs(expiresIn)
    if (this.#lastError !== undefined) logger.info({ vendor, tokenUrl: this.#logUrl }, 'oauth2 token endpoint recovered')
    this.#failures = 0
    this.#retryAt = 0
    this.#lastError = undefined
    if (token.accessToken !== this.token) {
      this.previous = this.token
      this.token = token.accessToken
    }
    logger.info({ vendor, expiresInSec: expiresIn }, 'oauth2 token obtained')
    return token.accessToken
  }

  #unavailable (): SluiceError {
    return new SluiceError('credential_unavailable', `oauth2 token for vendor ${this.#opts.vendor} is unavailable`,
      this.#lastError === undefined ? undefined : { cause: this.#lastError })
  }
}

/** origin and path of the token URL, for logs: a query string or user info could hold something private */
function logUrl (tokenUrl: string): string {
  try {
    const url = new URL(tokenUrl)
    return url.origin + url.pathname
  } catch {
    return '(invalid tokenUrl)'
  }
}
