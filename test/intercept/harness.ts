// One interception setup for the tests: a CA sluice mints tunnel certificates
// with, a local HTTPS stand-in for the vendor (its own CA, trusted through
// tls.ca), and a sluice whose policy routes the vendor's public host name to
// the stand-in. The stand-in answers with what reached it (and /redirect with
// a Location on its own URL).
import type { ServerResponse } from 'node:http'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestCa, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'

export interface Interception {
  pki: TestPki
  interceptCa: TestCa
  vendor: HttpsUpstream
  sluice: TestSluice
  close (): Promise<void>
}

export async function startInterception (host: string, opts: { vendor?: string, inject?: string, env?: Record<string, string>, logLevel?: string, files?: Record<string, string> } = {}): Promise<Interception> {
  const pki = await makePki()
  const interceptCa = await pki.ca('intercept')
  const vendorCa = await pki.ca('vendor')
  let vendorUrl = ''
  const vendor = await startHttpsUpstream((req, r, body) => {
    const res = r as ServerResponse
    // a redirect to the vendor's own URL, as vendors send them
    if (req.url === '/redirect') res.setHeader('location', `${vendorUrl}/v1/next`)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, path: req.url, authorization: req.headers.authorization ?? null, body: body.toString() }))
  }, await vendorCa.issue('stand-in'))
  vendorUrl = vendor.url
  const name = opts.vendor ?? 'acme'
  const sluice = await startTestSluice({
    [`${name}.yaml`]: `vendor: ${name}\nupstream: ${vendor.url}\nroutes:\n  hosts: [${host}]\n` +
      `tls:\n  ca: "\${file:${vendorCa.caFile}}"\n${opts.inject ?? ''}`,
    ...opts.files,
  }, { env: { SLUICE_INTERCEPT_CA_CERT: interceptCa.caFile, SLUICE_INTERCEPT_CA_KEY: interceptCa.keyFile, ...opts.env }, ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }) })
  return {
    pki,
    interceptCa,
    vendor,
    sluice,
    close: async () => {
      await sluice.stop()
      await vendor.close()
      await pki.remove()
    },
  }
}
