// Where a call goes: which vendor, and the path below its prefix. Compiled once
// per policy load into maps, so a call costs one or two Map lookups.
//
// Three ways in (README "Point a client at it"): an absolute-form target (`GET http://api.x.com/p`,
// from clients configured with HTTP_PROXY), a Host header naming one of the
// vendor's `routes.hosts` (port ignored), or the `/<prefix>` path.

export interface Routable {
  /** `hosts` in lower case, as compilePolicy leaves them */
  readonly policy: { readonly routes: { readonly prefix: string, readonly hosts: readonly string[] } }
}

export interface Target<V> {
  vendor: V
  /** the path below the prefix (or the whole path for host routing), query included; '' or starts with '/' or '?' */
  rest: string
  /** routed by Host header or absolute-form target: the path is passed unchanged */
  viaHost: boolean
}

export class TargetTable<V extends Routable> {
  private readonly byHost = new Map<string, V>()
  private readonly byFirstSegment = new Map<string, V>()
  /** prefixes of more than one segment, longest first */
  private readonly deepPrefixes: Array<[string, V]> = []

  constructor (vendors: readonly V[]) {
    for (const v of vendors) {
      for (const h of v.policy.routes.hosts) this.byHost.set(h, v)
      const prefix = v.policy.routes.prefix
      if (prefix.indexOf('/', 1) === -1) this.byFirstSegment.set(prefix, v)
      else this.deepPrefixes.push([prefix, v])
    }
    this.deepPrefixes.sort((a, b) => b[0].length - a[0].length)
  }

  /** The vendor whose routes.hosts names this host (any port), e.g. a CONNECT authority. */
  vendorOfHost (host: string): V | undefined {
    return this.byHost.get(hostName(host))
  }

  /**
   * Resolves a request target. Returns undefined for no match, and null for a
   * malformed absolute-form target.
   */
  match (url: string, host: string | undefined): Target<V> | undefined | null {
    if (url.charCodeAt(0) !== 47 /* '/' */) return this.matchAbsolute(url)
    if (host !== undefined && this.byHost.size > 0) {
      const v = this.byHost.get(hostName(host))
      if (v !== undefined) return { vendor: v, rest: url, viaHost: true }
    }
    return this.matchPrefix(url)
  }

  private matchPrefix (url: string): Target<V> | undefined {
    let end = url.length
    for (let i = 1; i < url.length; i++) {
      const c = url.charCodeAt(i)
      if (c === 47 /* / */ || c === 63 /* ? */) { end = i; break }
    }
    const v = this.byFirstSegment.get(url.slice(0, end))
    if (v !== undefined) return { vendor: v, rest: url.slice(end), viaHost: false }
    for (const [prefix, dv] of this.deepPrefixes) {
      if (url.startsWith(prefix)) {
        const next = url.charCodeAt(prefix.length)
        if (Number.isNaN(next) || next === 47 || next === 63) return { vendor: dv, rest: url.slice(prefix.length), viaHost: false }
      }
    }
    return undefined
  }

  private matchAbsolute (url: string): Target<V> | undefined | null {
    const scheme = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1
    if (scheme === -1) return null
    let end = url.length
    for (let i = scheme; i < url.length; i++) {
      const c = url.charCodeAt(i)
      if (c === 47 || c === 63 || c === 35) { end = i; break }
    }
    const authority = url.slice(scheme, end)
    if (!isHostPort(authority)) return null
    const v = this.byHost.get(hostName(authority))
    if (v === undefined) return undefined
    const rest = url.slice(end)
    return { vendor: v, rest: rest.length === 0 || rest.charCodeAt(0) === 63 ? '/' + rest : rest, viaHost: true }
  }
}

// A DNS name, an IPv4 address or a bracketed IPv6 address, and an optional port:
// no userinfo, path, space or anything else a URL parser could read otherwise.
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?$/

/** "api.stripe.com:8080", "127.0.0.1", "[::1]:80": one host[:port] and nothing else. */
export function isHostPort (s: string): boolean {
  return HOST_PORT.test(s)
}

/** "Api.Stripe.com:8080" -> "api.stripe.com"; "[::1]:80" -> "[::1]" */
export function hostName (host: string): string {
  let end = host.length
  if (host.charCodeAt(0) === 91 /* [ */) {
    end = host.indexOf(']') + 1 || host.length
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1) end = colon
  }
  const name = end === host.length ? host : host.slice(0, end)
  return name.toLowerCase()
}
