// Header handling both ways. Works on flat [name, value, ...]
// arrays, the shape node and undici both use natively, so no header object is
// built per call.

// Hop-by-hop (RFC 9110 7.6.1) plus what must not reach a vendor: its own Host is
// set by the dispatcher, `Expect` is answered by node itself, and nothing that
// reveals internal addresses (X-Forwarded-*, Forwarded, X-Real-IP) leaves.
const REQUEST_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect', 'http2-settings',
  'forwarded', 'x-real-ip',
])

const RESPONSE_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'http2-settings',
])

const KEEP_ALIVE_OR_CLOSE = /^(?:keep-alive|close)$/i

/** Names listed in a Connection header are hop-by-hop too. */
function connectionNamed (value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  // what nearly every peer sends: no names to collect, no split and no Set per call
  if (value.length <= 10 && KEEP_ALIVE_OR_CLOSE.test(value)) return undefined
  const names = new Set<string>()
  for (const n of value.split(',')) {
    const t = n.trim().toLowerCase()
    if (t !== '' && t !== 'close' && t !== 'keep-alive') names.add(t)
  }
  return names.size > 0 ? names : undefined
}

export interface ClientHeaders {
  /** flat [name, value, ...] for the upstream, without injected headers */
  out: string[]
  /** values sluice reads itself (undefined when absent) */
  idempotencyKey: string | undefined
  contentType: string | undefined
}

/**
 * Filters the client's raw headers for the upstream. `strip` holds lower-case
 * names removed because sluice injects its own (and any the policy strips);
 * `idempotencyHeader` is lower case.
 */
export function clientHeadersForUpstream (raw: readonly string[], strip: ReadonlySet<string>, idempotencyHeader: string): ClientHeaders {
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === 10 && (raw[i] as string).toLowerCase() === 'connection') {
      named = connectionNamed(raw[i + 1])
      break
    }
  }
  const res: ClientHeaders = { out: [], idempotencyKey: undefined, contentType: undefined }
  const out = res.out
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    // Proxy-* are all meant for a proxy on the way (sluice), never for the vendor.
    if (REQUEST_DROP.has(name) || strip.has(name) || name.startsWith('x-forwarded-') || name.startsWith('proxy-')) continue
    if (named !== undefined && named.has(name)) continue
    // sluice sends its own request id (the pipeline reads the client's one earlier)
    if (name === 'x-request-id') continue
    if (name === idempotencyHeader) res.idempotencyKey = value
    else if (name === 'content-type') res.contentType = value
    out.push(name, value)
  }
  return res
}

/** What reading the upstream headers tells the call, and where rewritten URLs point. */
export interface ResponseHeaderSink {
  resContentType: string | undefined
  resContentEncoding: string | undefined
  /** the base URL through sluice that replaces the vendor's, e.g. "http://localhost:8080/github" */
  rewriteTarget (): string
  /** the query parameters sluice injects (decoded names), or undefined when it injects none */
  readonly injectedQueryKeys: ReadonlySet<string> | undefined
}

const URL_END = new Set([47 /* / */, 63 /* ? */, 35 /* # */, 62 /* > */, 59 /* ; */, 34 /* " */, 44 /* , */, 32])
const PLUS = /\+/g

/** The decoded name of one `k=v` query pair (raw when it does not decode). */
export function queryKeyOf (pair: string): string {
  const eq = pair.indexOf('=')
  const key = eq === -1 ? pair : pair.slice(0, eq)
  try {
    return decodeURIComponent(key.replace(PLUS, ' '))
  } catch {
    return key
  }
}

/**
 * Replaces each occurrence of a `from` URL (at a URL boundary) with `to`. A
 * vendor that echoes the request URL would hand the application the query
 * values sluice injected: `dropKeys` are removed from each URL rewritten (a
 * call that follows it through sluice gets them injected again).
 */
export function rewriteUrls (value: string, from: readonly string[], to: string, dropKeys?: ReadonlySet<string>): string {
  let result = value
  for (const f of from) {
    let at = result.indexOf(f)
    while (at !== -1) {
      const end = at + f.length
      const next = result.charCodeAt(end)
      if (Number.isNaN(next) || URL_END.has(next)) {
        result = result.slice(0, at) + to + result.slice(end)
        if (dropKeys !== undefined) result = withoutQueryKeys(result, at + to.length, dropKeys)
        at = result.indexOf(f, at + to.length)
      } else {
        at = result.indexOf(f, end)
      }
    }
  }
  return result
}

/** Where a URL inside a header value stops: its fragment, the end of <...> or "...", a space. */
function endsUrl (c: number): boolean {
  return c === 35 /* # */ || c === 62 /* > */ || c === 34 /* " */ || c <= 32
}

/** The URL whose path goes on at `from`, without the query pairs named in `keys`. */
function withoutQueryKeys (s: string, from: number, keys: ReadonlySet<string>): string {
  let q = from
  while (q < s.length && s.charCodeAt(q) !== 63 /* ? */ && !endsUrl(s.charCodeAt(q))) q++
  if (s.charCodeAt(q) !== 63) return s
  let end = q + 1
  while (end < s.length && !endsUrl(s.charCodeAt(end))) end++
  const pairs = s.slice(q + 1, end).split('&')
  const kept = pairs.filter(pair => !keys.has(queryKeyOf(pair)))
  if (kept.length === pairs.length) return s
  return s.slice(0, q) + (kept.length === 0 ? '' : '?' + kept.join('&')) + s.slice(end)
}

/** A header name or value as undici hands it over: bytes are latin1 on the wire (RFC 9110 5.5). */
function latin1 (v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1')
}

/**
 * Upstream raw headers (latin1 buffers from undici) -> flat array for
 * res.writeHead: hop-by-hop dropped, Location/Link rewritten to point back
 * through sluice, the vendor's own x-request-id kept as x-upstream-request-id,
 * ours added.
 */
export function upstreamHeadersForClient (raw: readonly (Buffer | string)[], requestId: string, upstreamUrls: readonly string[], sink: ResponseHeaderSink): string[] {
  const out: string[] = []
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const r = raw[i] as Buffer | string
    if (r.length === 10 && latin1(r).toLowerCase() === 'connection') named = connectionNamed(latin1(raw[i + 1] as Buffer | string))
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i] as Buffer | string)
    const lower = name.toLowerCase()
    if (RESPONSE_DROP.has(lower) || (named !== undefined && named.has(lower))) continue
    let value = latin1(raw[i + 1] as Buffer | string)
    switch (lower) {
      case 'x-request-id':
        out.push('x-upstream-request-id', value)
        continue
      case 'content-type':
        sink.resContentType = value
        break
      case 'content-encoding':
        sink.resContentEncoding = value
        break
      case 'location':
      case 'content-location':
      case 'link':
        value = rewriteUrls(value, upstreamUrls, sink.rewriteTarget(), sink.injectedQueryKeys)
        break
    }
    out.push(name, value)
  }
  out.push('x-request-id', requestId)
  return out
}
