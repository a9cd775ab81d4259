// Throwaway certificate authorities and certificates, made with the openssl
// binary for one test file and removed after. Nothing is committed: no private
// key lives in the repository.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openssl as opensslPath } from './binaries.js'

const execFileP = promisify(execFile)
const openssl = async (...args: string[]): Promise<void> => { await execFileP(opensslPath(), args) }

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate */
  caFile: string
  certFile: string
  keyFile: string
  remove (): Promise<void>
}

export interface Issued {
  certFile: string
  keyFile: string
  cert: string
  key: string
}

export interface IssueOptions {
  /** subjectAltName entries; default IP:127.0.0.1,DNS:localhost */
  san?: string
  cn?: string
  /** validity as openssl dates (YYYYMMDDHHMMSSZ); default now-1d .. now+2d */
  notBefore?: string
  notAfter?: string
  /** a client certificate (extendedKeyUsage clientAuth) */
  client?: boolean
}

export interface TestCa {
  name: string
  caFile: string
  keyFile: string
  pem: string
  issue (file: string, opts?: IssueOptions): Promise<Issued>
}

export interface TestPki {
  dir: string
  /** a new CA; its certificate in `<name>.pem` */
  ca (name: string): Promise<TestCa>
  remove (): Promise<void>
}

/** openssl's date form, offset from now by `days`. */
export function opensslDate (days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')
}

export async function makePki (): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'))
  const f = (name: string): string => join(dir, name)
  const ca = async (name: string): Promise<TestCa> => {
    const caFile = f(`${name}.pem`)
    const keyFile = f(`${name}.key`)
    await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3',
      '-subj', `/CN=sluice test ${name}`, '-keyout', keyFile, '-out', caFile)
    const db = f(`${name}-db`)
    await mkdir(db)
    await writeFile(join(db, 'index.txt'), '')
    await writeFile(join(db, 'serial'), '01\n')
    await writeFile(f(`${name}.cnf`), [
      '[ca]', 'default_ca = d', '[d]', `database = ${join(db, 'index.txt')}`, `new_certs_dir = ${db}`, `serial = ${join(db, 'serial')}`,
      'default_md = sha256', 'policy = any', 'unique_subject = no', 'copy_extensions = none', '[any]', 'commonName = supplied', '',
    ].join('\n'))
    const issue = async (file: string, opts: IssueOptions = {}): Promise<Issued> => {
      const out = { certFile: f(`${file}.pem`), keyFile: f(`${file}.key`) }
      await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${opts.cn ?? file}`,
        '-keyout', out.keyFile, '-out', f(`${file}.csr`))
      await writeFile(f(`${file}.ext`), opts.client === true
        ? 'extendedKeyUsage=clientAuth\n'
        : `subjectAltName=${opts.san ?? 'IP:127.0.0.1,DNS:localhost'}\n`)
      await openssl('ca', '-batch', '-notext', '-config', f(`${name}.cnf`), '-cert', caFile, '-keyfile', keyFile,
        '-startdate', opts.notBefore ?? opensslDate(-1), '-enddate', opts.notAfter ?? opensslDate(2),
        '-extfile', f(`${file}.ext`), '-in', f(`${file}.csr`), '-out', out.certFile)
      return { ...out, cert: await readFile(out.certFile, 'utf8'), key: await readFile(out.keyFile, 'utf8') }
    }
    return { name, caFile, keyFile, pem: await readFile(caFile, 'utf8'), issue }
  }
  return { dir, ca, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** One CA and a server certificate for 127.0.0.1 and localhost. */
export async function makeTestCertificates (): Promise<TestCertificates> {
  const pki = await makePki()
  const ca = await pki.ca('ca')
  const server = await ca.issue('server')
  return { caFile: ca.caFile, certFile: server.certFile, keyFile: server.keyFile, remove: pki.remove }
}
