// The interception CA: loaded once at start from SLUICE_INTERCEPT_CA_CERT and
// SLUICE_INTERCEPT_CA_KEY, then used to mint one leaf certificate per
// intercepted host, kept in memory (never written anywhere) and renewed before
// it expires. The CA key stays inside this module: no message, log line or
// metric carries it or any part of it, only the file's path.
import { X509Certificate, createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext, type SecureContext } from 'node:tls'
import { SettingsError } from '../settings.js'

/** a minted leaf is valid this long; short, so a leaked one soon stops mattering */
const LEAF_VALIDITY_MS = 24 * 3600_000
/** renewed when less than this is left */
const RENEW_BEFORE_MS = 3600_000
/** client clocks a little behind ours still accept it */
const BACKDATE_MS = 5 * 60_000

type X509Module = typeof import('@peculiar/x509')

interface Leaf {
  context: SecureContext
  renewAt: number
}

const EC_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

export class InterceptCa {
  readonly #x509: X509Module
  readonly #cert: InstanceType<X509Module['X509Certificate']>
  readonly #signingKey: webcrypto.CryptoKey
  readonly #signingAlgorithm: { name: string, hash: string }
  readonly #leaves = new Map<string, Promise<Leaf>>()

  private constructor (x509: X509Module, cert: InstanceType<X509Module['X509Certificate']>, key: webcrypto.CryptoKey, alg: { name: string, hash: string }) {
    this.#x509 = x509
    this.#cert = cert
    this.#signingKey = key
    this.#signingAlgorithm = alg
  }

  /** Reads and checks both files; a problem stops sluice with a message naming the setting and path only. */
  static async load (certPath: string, keyPath: string): Promise<InterceptCa> {
    const certPem = await readSetting('SLUICE_INTERCEPT_CA_CERT', certPath)
    const keyPem = await readSetting('SLUICE_INTERCEPT_CA_KEY', keyPath)
    let nodeCert: X509Certificate
    try {
      nodeCert = new X509Certificate(certPem)
    } catch {
      throw new SettingsError(`SLUICE_INTERCEPT_CA_CERT: ${certPath} holds no PEM certificate`)
    }
    if (!nodeCert.ca) throw new SettingsError(`SLUICE_INTERCEPT_CA_CERT: ${certPath} is not a CA certificate (basicConstraints CA:TRUE)`)
    let key: KeyObject
    try {
      key = createPrivateKey(keyPem)
    } catch {
      // OpenSSL's message may quote the input: say only what is wrong.
      throw new SettingsError(`SLUICE_INTERCEPT_CA_KEY: ${keyPath} holds no PEM private key`)
    }
    if (!nodeCert.checkPrivateKey(key)) throw new SettingsError(`SLUICE_INTERCEPT_CA_KEY: ${keyPath} is not the key of ${certPath}`)

    let importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams
    let signingAlgorithm: { name: string, hash: string }
    if (key.asymmetricKeyType === 'rsa') {
      importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    } else if (key.asymmetricKeyType === 'ec' && EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] !== undefined) {
      importAlg = { name: 'ECDSA', namedCurve: EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] as string }
      signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' }
    } else {
      throw new SettingsError(`SLUICE_INTERCEPT_CA_KEY: ${keyPath}: only RSA and EC (P-256, P-384, P-521) keys are supported`)
    }
    const der = key.export({ format: 'der', type: 'pkcs8' })
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign'])
    // @peculiar/x509 resolves its algorithms through tsyringe, which needs the
    // Reflect metadata API; loaded only when interception is on.
    await import('reflect-metadata')
    const x509 = await import('@peculiar/x509')
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])
    return new InterceptCa(x509, new x509.X509Certificate(certPem), signingKey, signingAlgorithm)
  }

  /** The TLS context presenting a certificate for `host`, minted on first use and renewed before it expires. */
  async contextFor (host: string, now = Date.now()): Promise<SecureContext> {
    const cached = this.#leaves.get(host)
    if (cached !== undefined) {
      const leaf = await cached
      if (now < leaf.renewAt) return leaf.context
      if (this.#leaves.get(host) === cached) this.#leaves.delete(host)
    }
    let minting = this.#leaves.get(host)
    if (minting === undefined) {
      minting = this.#mint(host, now)
      this.#leaves.set(host, minting)
      minting.catch(() => this.#leaves.delete(host))
    }
    return (await minting).context
  }

  async #mint (host: string, now: number): Promise<Leaf> {
    const x509 = this.#x509
    const alg = { name: 'ECDSA', namedCurve: 'P-256' }
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
    const notAfter = now + LEAF_VALIDITY_MS
    const cert = await x509.X509CertificateGenerator.create({
      // positive, 16 random bytes
      serialNumber: '01' + randomBytes(15).toString('hex'),
      subject: `CN=${host}`,
      issuer: this.#cert.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      signingAlgorithm: this.#signingAlgorithm,
      publicKey: keys.publicKey,
      signingKey: this.#signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#cert),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    })
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string
    // The chain sent is the leaf and the CA, so a client that trusts the CA needs nothing else.
    const context = createSecureContext({ cert: `${cert.toString('pem')}\n${this.#cert.toString('pem')}\n`, key, minVersion: 'TLSv1.2' })
    return { context, renewAt: notAfter - RENEW_BEFORE_MS }
  }
}

async function readSetting (setting: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new SettingsError(`${setting}: cannot read ${path} (${(err as { code?: string }).code ?? 'error'})`)
  }
}
