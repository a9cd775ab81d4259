// What an intercepted tunnel's decrypted socket carries for the pipeline: the
// host it was opened for (requests in it are routed there) and the origin the
// client asked for (vendor URLs in Location and Link are rewritten to it).
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'

/** The decrypted side of a tunnel: requests on it are routed to this host. */
export interface TunnelSocket extends TLSSocket {
  sluiceTunnelHost?: string
  /** https://host[:port] as the client asked for it: vendor URLs in Location and Link point back here */
  sluiceTunnelOrigin?: string
}

/** The origin a request's tunnel was opened for (https://host[:port]), or undefined outside a tunnel. */
export function tunnelOrigin (req: IncomingMessage): string | undefined {
  return (req.socket as TunnelSocket).sluiceTunnelOrigin
}

/** The host a request's tunnel was opened for, or undefined outside a tunnel. */
export function tunnelHost (req: IncomingMessage): string | undefined {
  return (req.socket as TunnelSocket).sluiceTunnelHost
}
