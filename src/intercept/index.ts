// Interception of CONNECT tunnels, opt-in, so SDKs that reach an HTTPS vendor
// through HTTPS_PROXY work unchanged. A CONNECT to a host that some policy
// routes (routes.hosts) is answered 200; sluice then terminates TLS with a
// certificate for that host signed by the interception CA, and hands the
// decrypted connection to the proxy's own HTTP server, so every request in the
// tunnel goes through the same pipeline as a Host-routed call (log line,
// metrics, limits, injection, retries). Any other CONNECT, or every CONNECT
// when no CA is configured, goes to the refusal.
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { TLSSocket, type SecureContext } from 'node:tls'
import { hostName } from '../proxy/target.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'

import type { TunnelSocket } from './tunnel-socket.js'

type ConnectListener<S extends Duplex> = (req: IncomingMessage, socket: S, head: Buffer) => void

/** host:port, a DNS name (no IP literal: a policy routes names) */
const AUTHORITY = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/

/** The server's CONNECT listener: intercepts when configured, else `refuse`. */
export function connectHandler<S extends Duplex> (runtime: ProxyRuntime, server: Server, refuse: ConnectListener<S>): ConnectListener<S> {
  const ca = runtime.interceptCa
  if (ca === undefined) return refuse
  const count = (vendor: string, result: 'intercepted' | 'handshake_failed' | 'refused'): void => {
    runtime.metrics.tunnels.inc({ vendor, result })
  }
  return (req, socket, head) => {
    // a client that resets the tunnel must not take the process down
    socket.on('error', () => {})
    const authority = req.url ?? ''
    const target = AUTHORITY.test(authority) ? runtime.current.targets.match(`https://${authority}/`, undefined) : undefined
    if (target === undefined || target === null) {
      count('', 'refused')
      refuse(req, socket, head)
      return
    }
    const vendor = target.vendor.name
    const host = hostName(authority)
    ca.contextFor(host).then((secureContext: SecureContext) => {
      if (socket.destroyed) return
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) socket.unshift(head)
      const tls: TunnelSocket = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] })
      tls.sluiceTunnelHost = host
      tls.sluiceTunnelOrigin = authority.endsWith(':443') ? `https://${host}` : `https://${host}${authority.slice(authority.lastIndexOf(':'))}`
      let secured = false
      tls.once('secure', () => {
        secured = true
        count(vendor, 'intercepted')
      })
      tls.on('error', () => {
        // a client that does not trust the CA ends the handshake; it never reaches the pipeline
        if (!secured) count(vendor, 'handshake_failed')
        socket.destroy()
      })
      server.emit('connection', tls)
    }, (err: unknown) => {
      runtime.logger.error({ vendor, host, err: { message: (err as Error).message } }, 'minting an interception certificate failed')
      socket.destroy()
    })
  }
}
