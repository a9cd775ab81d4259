// What the proxy core sees of a vendor's credentials.

export interface Injection {
  /** [lower-case header name, value] to set on the upstream request */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** already percent-encoded "k=v&k2=v2" to append to the query, or '' */
  readonly query: string
  /** lower-case client header names removed before injection: policy.inject.strip plus every injected header */
  readonly strip: ReadonlySet<string>
  /** query parameter names (decoded) that `query` sets: drop the client's own of the same name */
  readonly queryKeys: ReadonlySet<string>
}

export interface VendorCredentials {
  /**
   * The current injection. Synchronous (and allocation free) when nothing needs
   * fetching; a promise while an OAuth2 token is being fetched. Throws, or
   * rejects with, SluiceError('credential_unavailable') naming the reference,
   * never a value.
   */
  get (): Injection | Promise<Injection>
  /**
   * Throws SluiceError('credential_unavailable') when get() would refuse at
   * once: a secret missing or invalid, or an OAuth2 token that cannot be had
   * and is not due to be fetched again yet. Never waits and never fetches, so
   * a call can be refused before it takes a rate-limit token.
   */
  check (): void
  /**
   * Forces a new OAuth2 token after the vendor answered 401. Pass the injection
   * the failed call was sent with: when the token has already been renewed
   * since, no new fetch is made. Resolves true when the call may be replayed
   * with a fresh get(), false when the vendor has no oauth2; rejects with
   * credential_unavailable when no new token can be had.
   */
  renew (used?: Injection): Promise<boolean>
  /** Every secret value in use (and the one before each, still in flight), for the log scrubber. */
  secrets (): readonly string[]
  /** true when every credential can be had now (the sluice_credential_available gauge); looks at the files again */
  available (): boolean
  /** References that cannot be resolved right now (names only) */
  unavailable (): string[]
  close (): void
}
