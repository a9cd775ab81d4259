// The TLS material of one vendor's connections: which CAs are trusted, the
// client certificate (mTLS), the oldest version accepted. Built into one
// SecureContext, so a new connection does not parse the root store again; a
// rotated certificate, key or CA file makes a new context, used by the next
// connection while those already open keep theirs. Verification is never off.
import { rootCertificates, createSecureContext, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import { SluiceError } from '../errors.js'
import { FileSecret } from '../credentials/file-secret.js'
import { EnvSecret, type SecretSource } from '../credentials/secret-source.js'
import { parseTemplate } from '../policy/secret-refs.js'
import type { VendorPolicy } from '../policy/types.js'

type Field = 'ca' | 'cert' | 'key'

export interface VendorTlsOptions {
  /** SLUICE_CA_FILE's PEM: trusted for every vendor */
  extraCa: string | undefined
  logger: Logger
  env?: NodeJS.ProcessEnv
}

export class VendorTls {
  /** bumped each time the context is rebuilt */
  version = 0
  #context: SecureContext | undefined
  /** a change could not be built yet (cert and key caught mid-swap): try again */
  #stale = false
  readonly #sources: Array<[Field, SecretSource]> = []
  readonly #policy: VendorPolicy
  readonly #extraCa: string | undefined

  constructor (policy: VendorPolicy, opts: VendorTlsOptions) {
    this.#policy = policy
    this.#extraCa = opts.extraCa
    const now = Date.now()
    for (const field of ['ca', 'cert', 'key'] as const) {
      const template = policy.tls[field]
      if (template === undefined) continue
      const ref = parseTemplate(template).refs[0]
      if (ref === undefined) continue
      const notify = (event: string): void => {
        // the path or variable name only: never the PEM
        opts.logger.info({ vendor: policy.vendor, field: `tls.${field}`, ref: ref.text, event }, 'tls file changed')
      }
      this.#sources.push([field, ref.kind === 'file' ? new FileSecret(ref, now, { notify }) : new EnvSecret(ref, opts.env ?? process.env)])
    }
  }

  /** True when the policy needs a context of its own (else Node's defaults serve). */
  static needed (policy: VendorPolicy, extraCa: string | undefined): boolean {
    const t = policy.tls
    return extraCa !== undefined || t.ca !== undefined || t.cert !== undefined || t.minVersion !== 'TLSv1.2'
  }

  /**
   * The context for a new connection. Throws credential_unavailable when a
   * client certificate or CA file cannot be read: the call is not sent without it.
   */
  context (): SecureContext {
    const now = Date.now()
    let changed = this.#context === undefined || this.#stale
    for (const [, source] of this.#sources) if (source.poll(now)) changed = true
    if (!changed) return this.#context as SecureContext
    try {
      this.#build()
      this.#stale = false
    } catch (err) {
      // A rotation caught halfway: the last good context keeps serving.
      if (this.#context === undefined) throw err
      this.#stale = true
    }
    return this.#context as SecureContext
  }

  close (): void {
    for (const [, source] of this.#sources) source.close()
  }

  #build (): void {
    const value = (field: Field): string | undefined => {
      const source = this.#sources.find(([f]) => f === field)?.[1]
      if (source === undefined) return undefined
      if (source.value === undefined) {
        throw new SluiceError('credential_unavailable', `the tls.${field} of ${this.#policy.vendor} cannot be read`)
      }
      return source.value
    }
    const vendorCa = value('ca')
    const cert = value('cert')
    const key = value('key')
    const extra = [this.#extraCa, vendorCa].filter((v): v is string => v !== undefined)
    try {
      this.#context = createSecureContext({
        // `ca` replaces Node's roots: keep them, and add ours.
        ...(extra.length === 0 ? {} : { ca: [...rootCertificates, ...extra] }),
        ...(cert === undefined ? {} : { cert, key }),
        minVersion: this.#policy.tls.minVersion,
      })
    } catch (err) {
      // OpenSSL's reason (bad PEM, key does not match) names no part of the key.
      throw new SluiceError('credential_unavailable', `the TLS material of ${this.#policy.vendor} is not usable (${(err as { code?: string }).code ?? 'error'})`, { cause: err })
    }
    this.version++
  }
}
