// One undici Pool per vendor: its own connections (so one slow vendor cannot
// take another's sockets), its connect timeout, and a DNS guard that keeps a
// host-name upstream from being steered at internal addresses.
import dns from 'node:dns'
import net from 'node:net'
import { Client, Pool, buildConnector } from 'undici'
import type { VendorPolicy } from '../policy/types.js'
import type { VendorTls } from './tls.js'
import { FORBIDDEN_DESTINATION } from './upstream-errors.js'
import { readingConnector } from './early-answer.js'

/** concurrent streams on one h2 connection (Node's h2 servers allow 100 by default) */
const H2_STREAMS = 100

const blocked = new net.BlockList()
for (const [addr, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(addr, bits, 'ipv4')
for (const [addr, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32],
] as const) blocked.addSubnet(addr, bits, 'ipv6')

/** True for loopback, private, link-local, CGNAT, multicast and reserved addresses. */
export function isPrivateAddress (address: string): boolean {
  const v4 = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address
  if (net.isIPv4(v4)) return blocked.check(v4, 'ipv4')
  if (net.isIPv6(v4)) return blocked.check(v4, 'ipv6')
  return true
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void

/** A dns.lookup that drops non-public answers, so only public addresses are ever dialled. */
function publicOnlyLookup (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '')
    const ok = addresses.filter(a => !isPrivateAddress(a.address))
    if (ok.length === 0) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves only to non-public addresses`)
      e.code = FORBIDDEN_DESTINATION
      return callback(e, '')
    }
    if (options.all === true) return callback(null, ok)
    const first = ok[0] as dns.LookupAddress
    callback(null, first.address, first.family)
  })
}

export function createVendorPool (policy: VendorPolicy, tls?: VendorTls): Pool {
  const guard = !policy.ipLiteral && !policy.network.allowPrivate
  const base = {
    timeout: policy.timeouts.connectMs,
    ...(guard ? { lookup: publicOnlyLookup } : {}),
    ...(policy.tls.servername === undefined ? {} : { servername: policy.tls.servername }),
    allowH2: policy.http2,
  } as buildConnector.BuildOptions
  let connect = tls === undefined ? buildConnector(base) : rotatingConnector(base, tls)
  if (policy.origin.startsWith('https:')) connect = keepingTlsAlerts(connect)
  return new Pool(policy.origin, {
    // A vendor's early answer (a 401 to a large upload) must not be lost to a write error.
    connect: readingConnector(connect),
    connections: policy.limits.concurrency,
    pipelining: 1,
    headersTimeout: policy.timeouts.readMs,
    bodyTimeout: policy.timeouts.readMs,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
    ...(policy.http2 ? { allowH2: true, factory: h2Client } : {}),
  })
}

/**
 * Under TLS 1.3 a vendor refuses a client certificate after the client thinks
 * the handshake is done: the alert arrives as a socket error, then the end of
 * the stream, and undici reports the end ("other side closed") instead of the
 * alert. Once an alert is seen the end carries no news, so undici is not told of
 * it and the request fails with the alert, which names the reason.
 */
function keepingTlsAlerts (connect: buildConnector.connector): buildConnector.connector {
  return (opts, callback) => {
    const socket = connect(opts, callback) as unknown as import('node:net').Socket | undefined
    socket?.prependOnceListener('error', (err: NodeJS.ErrnoException) => {
      if (err.code?.startsWith('ERR_SSL_') === true) socket.removeAllListeners('end')
    })
    return socket
  }
}

/**
 * A connector whose TLS context follows rotated files: each new connection
 * asks for the current context, and a new one gets a new connector (whose
 * session cache is empty, so no session of the old identity is resumed).
 */
function rotatingConnector (base: buildConnector.BuildOptions, tls: VendorTls): buildConnector.connector {
  let version = -1
  let connect: buildConnector.connector | undefined
  return (opts, callback) => {
    let secureContext
    try {
      secureContext = tls.context()
    } catch (err) {
      callback(err as Error, null)
      return
    }
    if (connect === undefined || version !== tls.version) {
      connect = buildConnector({ ...base, secureContext } as buildConnector.BuildOptions)
      version = tls.version
    }
    return connect(opts, callback)
  }
}

/**
 * undici runs one request at a time on a client whose pipelining is 1, h2 or
 * not. A connection that negotiated h2 is let carry many streams; one that fell
 * back to HTTP/1.1 stays at one request at a time (no HTTP/1.1 pipelining).
 */
function h2Client (origin: URL, opts: object): Client {
  const o = opts as Client.Options & { connect: buildConnector.connector }
  const connect = o.connect
  const client: Client = new Client(origin, {
    ...o,
    connect: (co, callback) => connect(co, (err, socket) => {
      if (err === null && socket !== null) client.pipelining = (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2' ? H2_STREAMS : 1
      ;(callback as (e: Error | null, s: typeof socket) => void)(err, socket)
    }),
  })
  return client
}
