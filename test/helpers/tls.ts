// A throwaway certificate authority and a server certificate for 127.0.0.1 and
// localhost, made with the openssl binary for one test file and removed after.
// Nothing is committed: no private key lives in the repository.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openssl as opensslPath } from './binaries.js'

const execFileP = promisify(execFile)

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate */
  caFile: string
  certFile: string
  keyFile: string
  remove (): Promise<void>
}

export async function makeTestCertificates (): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'))
  const f = (name: string): string => join(dir, name)
  const bin = opensslPath()
  const openssl = async (...args: string[]): Promise<void> => { await execFileP(bin, args) }
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=sluice test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'))
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'))
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await openssl('x509', '-req', '-days', '2', '-set_serial', '1', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-extfile', f('ext.cnf'), '-out', f('server.pem'))
  return {
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
