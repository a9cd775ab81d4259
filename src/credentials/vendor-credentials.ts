// One vendor's `inject` policy, live: its templates parsed once, each distinct
// reference backed by one source, and the Injection the core applies kept
// ready. get() runs on every call, so it only polls file sources (a clock read
// each, a stat at most once a second) and returns the cached Injection; the
// Injection is rebuilt only when a value or the OAuth2 token changes.
//
// Values go to the vendor only: logs and errors name references, never values.
import { SluiceError } from '../errors.js'
import { renderTemplate, type SecretRef, type Template } from '../policy/secret-refs.js'
import type { VendorPolicy } from '../policy/types.js'
import { FileSecret, type FileSecretEvent } from './file-secret.js'
import { OAuth2Token, type CredentialLogger } from './oauth2-token.js'
import { EnvSecret, type SecretSource } from './secret-source.js'
import type { TokenTimeouts } from './token-request.js'
import type { Injection, VendorCredentials } from './types.js'

export interface CredentialsOptions {
  logger: CredentialLogger
  env?: NodeJS.ProcessEnv
  /** monotonic milliseconds; tests pass their own clock */
  now?: () => number
  /** the OAuth2 token request's own timeouts */
  tokenTimeouts?: TokenTimeouts
  /** told whether every credential can be had, at start and whenever that changes */
  onAvailability?: (available: boolean) => void
}

// Bytes an HTTP header value may carry (RFC 9110 field-vchar, SP, HTAB); a CR
// or LF from a secret file must never split a header.
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/

type Blocked = { ref: SecretRef | undefined, why: 'missing' | 'invalid' }

export function createCredentials (policy: VendorPolicy, opts: CredentialsOptions): VendorCredentials {
  return new LiveCredentials(policy, opts)
}

class LiveCredentials implements VendorCredentials {
  readonly #vendor: string
  readonly #logger: CredentialLogger
  readonly #now: () => number
  /** one source per distinct reference text */
  readonly #sources = new Map<string, SecretSource>()
  readonly #files: FileSecret[] = []
  readonly #headers: Array<readonly [string, Template]>
  readonly #query: Array<readonly [string, Template]>
  readonly #strip: ReadonlySet<string>
  readonly #queryKeys: ReadonlySet<string>
  readonly #oauth: OAuth2Token | undefined
  readonly #oauthHeader: string
  #started = false
  readonly #onAvailability: ((available: boolean) => void) | undefined
  /** what onAvailability was last told */
  #toldAvailable: boolean | undefined
  /** fields whose template could not be parsed: the vendor is refused until a reload */
  readonly #malformed: string[] = []

  /** bumped on every value change; the caches below record the version they were built at */
  #version = 0
  #builtVersion = -1
  #blocked: Blocked | undefined
  #staticHeaders: ReadonlyArray<readonly [string, string]> = []
  #queryString = ''
  #injection: Injection | undefined
  /** the OAuth2 token inside #injection */
  #injectedToken: string | undefined
  #secrets: readonly string[] = []
  #secretsVersion = -1
  #secretsToken: string | undefined

  constructor (policy: VendorPolicy, opts: CredentialsOptions) {
    const env = opts.env ?? process.env
    const inject = policy.inject
    this.#vendor = policy.vendor
    this.#logger = opts.logger
    this.#now = opts.now ?? (() => performance.now())
    this.#onAvailability = opts.onAvailability

    // The policy loader refuses malformed references, so this is a last guard:
    // a bad template blocks its own vendor, never the whole policy set.
    const use = (template: Template, field: string): Template => {
      if (template.problems.length > 0) {
        this.#malformed.push(field)
        this.#logger.error({ vendor: this.#vendor, field, problem: template.problems[0] }, 'credential template is malformed')
        return { parts: [], refs: [], problems: template.problems }
      }
      for (const ref of template.refs) this.#addSource(ref, env)
      return template
    }
    const oauth = inject.oauth2
    const templates = inject.templates
    this.#oauthHeader = oauth?.header ?? ''
    // With oauth2 the token header wins over a static header of the same name.
    this.#headers = templates.headers
      .map(([name, t]) => [name, use(t, `inject.headers.${name}`)] as const)
      .filter(([name]) => name !== this.#oauthHeader)
    this.#query = templates.query
      .map(([key, t]) => [encodeURIComponent(key) + '=', use(t, `inject.query.${key}`)] as const)
    this.#queryKeys = new Set(Object.keys(inject.query))
    const strip = new Set(inject.strip.map(h => h.toLowerCase()))
    for (const [name] of this.#headers) strip.add(name)
    if (oauth !== undefined) strip.add(this.#oauthHeader)
    this.#strip = strip

    if (oauth !== undefined && templates.oauth2 !== undefined) {
      const clientId = use(templates.oauth2.clientId, 'inject.oauth2.clientId')
      const clientSecret = use(templates.oauth2.clientSecret, 'inject.oauth2.clientSecret')
      this.#oauth = new OAuth2Token({
        vendor: this.#vendor,
        policy: oauth,
        client: () => {
          // renew() can run without a get() before it: look at rotated files first.
          this.#pollFiles()
          return { id: this.#renderOrThrow(clientId), secret: this.#renderOrThrow(clientSecret) }
        },
        logger: this.#logger,
        now: this.#now,
        ...(opts.tokenTimeouts ? { timeouts: opts.tokenTimeouts } : {}),
      })
    }

    for (const source of this.#sources.values()) {
      if (source.value === undefined) {
        this.#logger.error({ vendor: this.#vendor, reference: source.ref.text, fix: howToResolve(source.ref) }, 'credential reference cannot be resolved')
      }
    }
    this.#started = true
    this.#rebuild()
    this.#tellAvailability()
  }

  get (): Injection | Promise<Injection> {
    this.#pollFiles()
    if (this.#builtVersion !== this.#version) this.#rebuild()
    if (this.#blocked !== undefined) throw this.#blockedError(this.#blocked)
    if (this.#oauth === undefined) return this.#injection as Injection
    const token = this.#oauth.current()
    if (typeof token === 'string') return this.#withToken(token)
    return token.then(t => this.#withToken(t))
  }

  check (): void {
    this.#pollFiles()
    if (this.#builtVersion !== this.#version) this.#rebuild()
    if (this.#blocked !== undefined) throw this.#blockedError(this.#blocked)
    if (this.#oauth === undefined) return
    try {
      this.#oauth.check()
    } finally {
      this.#tellAvailability()
    }
  }

  available (): boolean {
    this.#pollFiles()
    if (this.#builtVersion !== this.#version) this.#rebuild()
    this.#tellAvailability()
    return this.#toldAvailable === true
  }

  async renew (used?: Injection): Promise<boolean> {
    const oauth = this.#oauth
    if (oauth === undefined) return false
    // A call sent with a token that has since been replaced just replays.
    if (used !== undefined && oauth.token !== undefined && this.#tokenIn(used) !== oauth.token) return true
    await oauth.renew()
    return true
  }

  secrets (): readonly string[] {
    this.#pollFiles()
    const token = this.#oauth?.token
    if (this.#secretsVersion === this.#version && this.#secretsToken === token) return this.#secrets
    const values = new Set<string>()
    for (const source of this.#sources.values()) {
      if (source.value !== undefined) values.add(source.value)
      if (source.previous !== undefined) values.add(source.previous)
    }
    if (token !== undefined) values.add(token)
    if (this.#oauth?.previous !== undefined) values.add(this.#oauth.previous)
    this.#secrets = Object.freeze([...values])
    this.#secretsVersion = this.#version
    this.#secretsToken = token
    return this.#secrets
  }

  unavailable (): string[] {
    this.#pollFiles()
    const names: string[] = []
    for (const source of this.#sources.values()) {
      if (source.value === undefined) names.push(source.ref.text)
    }
    if (this.#builtVersion !== this.#version) this.#rebuild()
    const invalid = this.#blocked?.why === 'invalid' ? this.#blocked.ref?.text : undefined
    if (invalid !== undefined && !names.includes(invalid)) names.push(invalid)
    if (this.#oauth?.failing === true) names.push('oauth2 token')
    for (const field of this.#malformed) names.push(`${field} (malformed)`)
    return names
  }

  close (): void {
    for (const source of this.#sources.values()) source.close()
    this.#oauth?.close()
  }

  #addSource (ref: SecretRef, env: NodeJS.ProcessEnv): void {
    if (this.#sources.has(ref.text)) return
    if (ref.kind === 'env') {
      this.#sources.set(ref.text, new EnvSecret(ref, env))
      return
    }
    const file = new FileSecret(ref, this.#now(), { notify: event => this.#onFileEvent(ref, event) })
    this.#sources.set(ref.text, file)
    this.#files.push(file)
  }

  #onFileEvent (ref: SecretRef, event: FileSecretEvent): void {
    if (!this.#started) return
    const fields = { vendor: this.#vendor, reference: ref.text }
    if (event === 'resolved') this.#logger.info(fields, 'credential reference resolved')
    else if (event === 'rotated') this.#logger.info(fields, 'credential reference reloaded')
    else this.#logger.warn(fields, 'credential file unreadable, serving the last good value')
  }

  #pollFiles (): void {
    if (this.#files.length === 0) return
    const now = this.#now()
    for (const file of this.#files) {
      if (file.poll(now)) this.#version++
    }
  }

  #lookup = (ref: SecretRef): string | undefined => this.#sources.get(ref.text)?.value

  #renderOrThrow (template: Template): string {
    const value = renderTemplate(template, this.#lookup)
    if (value === undefined) throw this.#blockedError({ ref: firstMissing(template, this.#lookup), why: 'missing' })
    return value
  }

  /** Tells onAvailability when the answer changed; cheap enough for every check(). */
  #tellAvailability (): void {
    if (!this.#started) return
    let available = this.#blocked === undefined && this.#oauth?.failing !== true
    if (available) {
      for (const source of this.#sources.values()) if (source.value === undefined) available = false
    }
    if (available === this.#toldAvailable) return
    this.#toldAvailable = available
    this.#onAvailability?.(available)
  }

  /** Renders the static headers and query; runs at start and on a value change only. */
  #rebuild (): void {
    try {
      this.#render()
    } finally {
      this.#tellAvailability()
    }
  }

  #render (): void {
    const wasBlocked = this.#blocked
    this.#builtVersion = this.#version
    this.#blocked = undefined
    this.#injection = undefined
    this.#injectedToken = undefined
    if (this.#malformed.length > 0) {
      this.#blocked = { ref: undefined, why: 'invalid' }
      return
    }

    const headers: Array<readonly [string, string]> = []
    for (const [name, template] of this.#headers) {
      const value = renderTemplate(template, this.#lookup)
      if (value === undefined) {
        this.#blocked = { ref: firstMissing(template, this.#lookup), why: 'missing' }
        return
      }
      if (BAD_HEADER_VALUE.test(value)) {
        this.#blocked = { ref: template.refs[0], why: 'invalid' }
        if (wasBlocked?.why !== 'invalid' || wasBlocked.ref !== this.#blocked.ref) {
          this.#logger.error({ vendor: this.#vendor, header: name, reference: template.refs[0]?.text },
            'credential value holds characters a header cannot carry')
        }
        return
      }
      headers.push(Object.freeze([name, value] as const))
    }
    let query = ''
    for (const [key, template] of this.#query) {
      const value = renderTemplate(template, this.#lookup)
      if (value === undefined) {
        this.#blocked = { ref: firstMissing(template, this.#lookup), why: 'missing' }
        return
      }
      query += (query === '' ? '' : '&') + key + encodeURIComponent(value)
    }
    this.#staticHeaders = Object.freeze(headers)
    this.#queryString = query
    if (this.#oauth === undefined) this.#injection = this.#freeze(this.#staticHeaders)
  }

  #withToken (token: string): Injection {
    if (this.#blocked !== undefined) throw this.#blockedError(this.#blocked)
    if (this.#injection !== undefined && token === this.#injectedToken) return this.#injection
    const header = Object.freeze([this.#oauthHeader, 'Bearer ' + token] as const)
    this.#injection = this.#freeze(Object.freeze([...this.#staticHeaders, header]))
    this.#injectedToken = token
    return this.#injection
  }

  #freeze (headers: ReadonlyArray<readonly [string, string]>): Injection {
    return Object.freeze({ headers, query: this.#queryString, strip: this.#strip, queryKeys: this.#queryKeys })
  }

  #tokenIn (injection: Injection): string | undefined {
    for (const [name, value] of injection.headers) {
      if (name === this.#oauthHeader) return value.slice('Bearer '.length)
    }
    return undefined
  }

  #blockedError (blocked: Blocked): SluiceError {
    const what = blocked.ref === undefined ? 'a credential' : `credential ${blocked.ref.text}`
    return new SluiceError('credential_unavailable', `${what} for vendor ${this.#vendor} is unavailable`)
  }
}

function firstMissing (template: Template, lookup: (ref: SecretRef) => string | undefined): SecretRef | undefined {
  return template.refs.find(ref => lookup(ref) === undefined)
}

/** What an operator does so the reference resolves: names the variable or file, never a value. */
function howToResolve (ref: SecretRef): string {
  return ref.kind === 'env'
    ? `set the environment variable ${ref.name} for sluice`
    : `create the file ${ref.path}, readable by sluice (a mounted Secret appears there once the mount is ready)`
}
