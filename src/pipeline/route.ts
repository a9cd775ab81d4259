// Stages: check the request head, find the vendor, keep the path inside its
// base path, apply its allow-list. Nothing here waits or allocates beyond the
// match itself.
import { SluiceError } from '../errors.js'
import { isSafePath, splitQuery } from '../proxy/path.js'
import { isHostPort } from '../proxy/target.js'
import type { CallContext, RoutedCall } from './context.js'
import type { VendorRuntime } from '../runtime/vendor-runtime.js'
import { tunnelHost } from '../intercept/tunnel-socket.js'
import type { AllowRule } from '../policy/types.js'

/** More header lines than this is 431: none is ever dropped and the rest forwarded. */
export const MAX_HEADER_LINES = 256

/** Methods sluice never forwards: it cannot apply a policy to a tunnel or a loop-back echo. */
const NEVER = new Set(['CONNECT', 'TRACE'])

/**
 * The head as a whole: not too many header lines, and one Host that is a
 * plain host[:port] (Host routing and the rewritten Location trust it after
 * this). HTTP/1.1 requires a Host; HTTP/1.0 may omit it.
 */
export function checkHead (ctx: CallContext): void {
  const req = ctx.req
  const raw = req.rawHeaders
  if (raw.length > MAX_HEADER_LINES * 2) throw new SluiceError('headers_too_large', `more than ${MAX_HEADER_LINES} request header lines`)
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++
  }
  if (hosts > 1) throw new SluiceError('bad_request', 'more than one Host header')
  const host = req.headers.host
  if (host === undefined) {
    if (req.httpVersion !== '1.0') throw new SluiceError('bad_request', 'no Host header')
  } else if (!isHostPort(host)) {
    throw new SluiceError('bad_request', 'the Host header is not one host[:port]')
  }
}

/** Finds the vendor; from here on the call is a RoutedCall. */
export function route (ctx: CallContext): asserts ctx is RoutedCall {
  const url = ctx.url
  // inside an intercepted tunnel the host is the one the tunnel was opened for
  const target = ctx.runtime.current.targets.match(url, tunnelHost(ctx.req) ?? ctx.req.headers.host)
  if (target === null) throw new SluiceError('bad_request', 'malformed request target')
  if (target === undefined) throw new SluiceError('no_route', 'no policy matches this host or path')
  const vendor = target.vendor
  ctx.vendor = vendor
  vendor.enter()
  ctx.viaHost = target.viaHost
  ctx.rest = target.rest
}

/** A call already bound to its vendor (a stored job being delivered): from here on a RoutedCall. */
export function routeTo (ctx: CallContext, vendor: VendorRuntime, rest: string): asserts ctx is RoutedCall {
  ctx.vendor = vendor
  vendor.enter()
  ctx.rest = rest
}

export function checkPath (ctx: CallContext): { path: string, query: string } {
  const [path, query] = splitQuery(ctx.rest)
  if (!isSafePath(path)) throw new SluiceError('bad_request', 'the path would leave the vendor base path')
  return { path, query }
}

export function checkAllowed (ctx: RoutedCall, path: string): void {
  const method = ctx.method
  if (NEVER.has(method)) throw new SluiceError('not_allowed', `${method} is never forwarded`)
  const allow = ctx.vendor.policy.routes.allow
  if (allow === undefined) return
  const p = path === '' ? '/' : path
  for (const rule of allow) {
    if (rule.methods !== undefined && !rule.methods.has(method)) continue
    if (rule.paths === undefined) return
    for (const re of rule.paths) if (re.test(p)) return
  }
  throw new SluiceError('not_allowed', `${method} ${p} is not allowed by the policy`)
}

/** The allow rule above as a pure test, for `sluice replay` (keep the two in step). */
export function allowedBy (allow: readonly AllowRule[] | undefined, method: string, path: string): boolean {
  if (NEVER.has(method)) return false
  if (allow === undefined) return true
  const p = path === '' ? '/' : path
  for (const rule of allow) {
    if (rule.methods !== undefined && !rule.methods.has(method)) continue
    if (rule.paths === undefined) return true
    for (const re of rule.paths) if (re.test(p)) return true
  }
  return false
}
