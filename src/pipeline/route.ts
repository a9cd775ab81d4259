// Stages: find the vendor, keep the path inside its base path, apply its
// allow-list. Nothing here waits or allocates beyond the match itself.
import { SluiceError } from '../errors.js'
import { isSafePath, splitQuery } from '../proxy/path.js'
import type { CallContext } from './context.js'
import { tunnelHost } from '../intercept/tunnel-socket.js'

/** Methods sluice never forwards: it cannot apply a policy to a tunnel or a loop-back echo. */
const NEVER = new Set(['CONNECT', 'TRACE'])

export function route (ctx: CallContext): void {
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

export function checkPath (ctx: CallContext): { path: string, query: string } {
  const [path, query] = splitQuery(ctx.rest)
  if (!isSafePath(path)) throw new SluiceError('bad_request', 'the path would leave the vendor base path')
  return { path, query }
}

export function checkAllowed (ctx: CallContext, path: string): void {
  const method = ctx.method
  if (NEVER.has(method)) throw new SluiceError('not_allowed', `${method} is never forwarded`)
  const allow = (ctx.vendor as NonNullable<CallContext['vendor']>).policy.routes.allow
  if (allow === undefined) return
  const p = path === '' ? '/' : path
  for (const rule of allow) {
    if (rule.methods !== undefined && !rule.methods.has(method)) continue
    if (rule.paths === undefined) return
    for (const re of rule.paths) if (re.test(p)) return
  }
  throw new SluiceError('not_allowed', `${method} ${p} is not allowed by the policy`)
}
