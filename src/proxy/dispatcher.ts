// One undici Pool per vendor: its own connections (so one slow vendor cannot
// take another's sockets), its connect timeout, and a DNS guard that keeps a
// host-name upstream from being steered at internal addresses.
import dns from 'node:dns'
import net from 'node:net'
import { Pool, buildConnector } from 'undici'
import type { VendorPolicy } from '../policy/types.js'
import { FORBIDDEN_DESTINATION } from './upstream-errors.js'
import { readingConnector } from './early-answer.js'

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

export function createVendorPool (policy: VendorPolicy): Pool {
  const guard = !policy.ipLiteral && !policy.network.allowPrivate
  const connect = buildConnector({
    timeout: policy.timeouts.connectMs,
    ...(guard ? { lookup: publicOnlyLookup } : {}),
  } as buildConnector.BuildOptions)
  return new Pool(policy.origin, {
    // A vendor's early answer (a 401 to a large upload) must not be lost to a write error.
    connect: readingConnector(connect),
    connections: policy.limits.concurrency,
    pipelining: 1,
    headersTimeout: policy.timeouts.readMs,
    bodyTimeout: policy.timeouts.readMs,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
  })
}
