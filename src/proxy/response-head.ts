// The relayed response head, built in one pass. `res.writeHead(status, text,
// flatArray)` checks every name and value with two regexes and lower-cases
// most names again to spot the framing ones; for a response undici has just
// parsed (llhttp accepts exactly the header names and values node would
// send, though not every reason phrase), that is most of the head's cost.
// This builds the same bytes and sets the same fields, and leaves framing
// (keep-alive, chunked, Date, no body for HEAD, 1xx, 204 and 304) to behave
// exactly as after writeHead.
//
// Node internals relied on (Node 20's lib/_http_server.js writeHead and
// lib/_http_outgoing.js _storeHeader / matchHeader): the fields _header,
// _headerSent, _hasBody, _last, _contentLength, _removedConnection,
// _removedContLen, _removedTE, _defaultKeepAlive, _keepAliveTimeout,
// _maxRequestsPerSocket, _expect_continue, _sent100, chunkedEncoding,
// shouldKeepAlive, useChunkedEncodingByDefault, maxRequestsOnConnectionReached,
// agent, sendDate, and the kOutHeaders symbol. At load, a self-test runs both
// ways on probe responses over the states those fields take and compares
// every own property; any difference (another Node) and every call goes
// through writeHead, correct but slower. Per call, anything writeHead handles
// on a path not mirrored here (headers set before, a wrapped writeHead, a
// header that may not be sent) goes through writeHead too.
import { ServerResponse, type IncomingMessage } from 'node:http'

/** A ServerResponse's fields this module reads and writes (see above). */
interface Outgoing {
  _header: string | null
  _headerSent: boolean
  _hasBody: boolean
  _last: boolean
  _contentLength: number | null
  _removedConnection: boolean
  _removedContLen: boolean
  _removedTE: boolean
  _defaultKeepAlive: boolean
  _keepAliveTimeout: number
  _maxRequestsPerSocket: number | undefined
  _expect_continue: boolean
  _sent100: boolean
  _storeHeader: unknown
  chunkedEncoding: boolean
  shouldKeepAlive: boolean
  useChunkedEncodingByDefault: boolean
  maxRequestsOnConnectionReached: boolean
  agent: unknown
  sendDate: boolean
  statusCode: number
  statusMessage: string
  writeHead: unknown
  [key: symbol]: unknown
}

// node's own checks (_http_common.js checkIsHttpToken, checkInvalidHeaderChar)
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/
const INVALID_CHAR = /[^\t\x20-\x7e\x80-\xff]/
// _http_outgoing.js RE_CONN_CLOSE, _http_common.js chunkExpression
const CONN_CLOSE = /(?:^|\W)close(?:$|\W)/i
const TE_CHUNKED = /(?:^|\W)chunked(?:$|\W)/i

const proto = ServerResponse.prototype as unknown as Outgoing
const nativeWriteHead = proto.writeHead
const nativeStoreHeader = proto._storeHeader

function probe (method = 'GET', minor = 1, te?: string): Outgoing {
  const req = { method, httpVersionMajor: 1, httpVersionMinor: minor, headers: te === undefined ? {} : { te } }
  return new ServerResponse(req as IncomingMessage) as unknown as Outgoing
}

const kOutHeaders = Object.getOwnPropertySymbols(probe()).find(s => s.description === 'kOutHeaders')

/**
 * Case-insensitive equality with a lower-case literal, for a header name that
 * is a token: of the token characters, only A-Z map onto a-z under `| 0x20`.
 */
function isName (name: string, lower: string): boolean {
  if (name.length !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false
  }
  return true
}

// The Date header, as node's utcDate() renders it, once a second.
let dateSecond = -1
let dateLine = ''
function dateHeader (): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateLine = 'Date: ' + new Date(now).toUTCString() + '\r\n'
  }
  return dateLine
}

/**
 * Builds and stores the head as writeHead would; false (and `r` untouched)
 * when writeHead must do it: a state or a header this does not mirror, or one
 * writeHead would refuse (it then throws its own error).
 */
function storeHead (r: Outgoing, status: number, statusText: string, headers: readonly unknown[], fromParser: number): boolean {
  // writeHead's slow path (headers set before), or a state only removeHeader or end() sets
  if (r._header || r[kOutHeaders as symbol] !== null || r._contentLength !== null || r.chunkedEncoding ||
    r._removedConnection || r._removedContLen || r._removedTE) return false
  if ((status | 0) !== status || status < 100 || status > 999) return false
  // llhttp lets control characters through in a reason phrase (test/proxy/invalid-upstream-response.test.ts)
  if (typeof statusText !== 'string' || INVALID_CHAR.test(statusText)) return false
  const n = headers.length
  if (n % 2 !== 0) return false

  let head = 'HTTP/1.1 ' + status + ' ' + statusText + '\r\n'
  // what matchHeader would have recorded, applied once every header passed
  let connection = false
  let connClose = false
  let connOther = false
  let te = false
  let teChunked = false
  let contentLength: number | null = null
  let date = false
  let keepAlive = false
  for (let i = 0; i < n; i += 2) {
    const name = headers[i]
    const given = headers[i + 1]
    if (typeof name !== 'string' || typeof given !== 'string') return false
    let value = given
    const len = name.length
    if (i >= fromParser) {
      if (!TOKEN.test(name) || INVALID_CHAR.test(value)) return false
    } else if ((len === 8 || len === 16 || len === 4) &&
      (isName(name, 'location') || isName(name, 'content-location') || isName(name, 'link'))) {
      // headers.ts rewrites these to point through sluice: not as parsed
      if (INVALID_CHAR.test(value)) return false
    }
    switch (len) {
      case 4:
        if (isName(name, 'date')) date = true
        break
      case 6:
        if (isName(name, 'expect')) return false // writeHead flushes the head at once
        break
      case 7:
        if (isName(name, 'trailer')) return false // writeHead checks it against chunking
        break
      case 10:
        if (isName(name, 'connection')) {
          connection = true
          if (CONN_CLOSE.test(value)) connClose = true
          else connOther = true
        } else if (isName(name, 'keep-alive')) {
          keepAlive = true
        }
        break
      case 14:
        if (isName(name, 'content-length')) contentLength = +value
        break
      case 17:
        if (isName(name, 'transfer-encoding')) {
          te = true
          if (TE_CHUNKED.test(value)) teChunked = true
        }
        break
      case 19:
        // node re-encodes it once a content-length came before (latin1 bytes
        // read back as UTF-8), then checks it: what is not UTF-8 makes writeHead throw
        if (contentLength && isName(name, 'content-disposition')) {
          value = String(Buffer.from(value, 'latin1'))
          if (INVALID_CHAR.test(value)) return false
        }
        break
    }
    head += name + ': ' + value + '\r\n'
  }

  // writeHead
  r.statusMessage = statusText
  r.statusCode = status
  if (status === 204 || status === 304 || status < 200) r._hasBody = false
  if (r._expect_continue && !r._sent100) r.shouldKeepAlive = false
  // matchHeader
  if (connClose) r._last = true
  if (connOther) r.shouldKeepAlive = true
  if (teChunked) r.chunkedEncoding = true
  if (contentLength !== null) r._contentLength = contentLength
  if (keepAlive) r._defaultKeepAlive = false
  // _storeHeader
  if (r.sendDate && !date) head += dateHeader()
  if (r.chunkedEncoding && (status === 204 || status === 304)) {
    r.chunkedEncoding = false
    r.shouldKeepAlive = false
  }
  if (!connection) {
    const sendKeepAlive = r.shouldKeepAlive && (contentLength !== null || r.useChunkedEncodingByDefault || r.agent)
    if (sendKeepAlive && r.maxRequestsOnConnectionReached) {
      head += 'Connection: close\r\n'
    } else if (sendKeepAlive) {
      head += 'Connection: keep-alive\r\n'
      if (r._keepAliveTimeout && r._defaultKeepAlive) {
        const max = ~~(r._maxRequestsPerSocket as number) > 0 ? `, max=${r._maxRequestsPerSocket as number}` : ''
        head += `Keep-Alive: timeout=${Math.floor(r._keepAliveTimeout / 1000)}${max}\r\n`
      }
    } else {
      r._last = true
      head += 'Connection: close\r\n'
    }
  }
  if (contentLength === null && !te) {
    if (!r._hasBody) {
      r.chunkedEncoding = false
    } else if (!r.useChunkedEncodingByDefault) {
      r._last = true
    } else {
      head += 'Transfer-Encoding: chunked\r\n'
      r.chunkedEncoding = true
    }
  }
  r._header = head + '\r\n'
  r._headerSent = false
  return true
}

/**
 * Writes the response head, as `res.writeHead(status, statusText, headers)`
 * does. `headers` is flat [name, value, ...]; its first `fromParser` entries
 * are as undici's parser handed them (names and values already checked by
 * llhttp), the rest (what sluice adds) are checked here. Anything else goes
 * through writeHead, which throws where it always did.
 */
export function writeResponseHead (res: ServerResponse, status: number, statusText: string, headers: string[], fromParser = 0): void {
  const r = res as unknown as Outgoing
  if (direct && r.writeHead === nativeWriteHead && r._storeHeader === nativeStoreHeader &&
    storeHead(r, status, statusText, headers, fromParser)) return
  res.writeHead(status, statusText, headers)
}

/** @internal Whether heads are built here (true) or every call goes through writeHead (false). */
export function directResponseHead (): boolean {
  return direct
}

// ---- the self-test: both ways on probe responses, every own property compared

const DATE = /Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/

function sameState (a: Outgoing, b: Outgoing): boolean {
  const keys = new Set<string | symbol>([...Reflect.ownKeys(a), ...Reflect.ownKeys(b)])
  for (const k of keys) {
    let x = (a as unknown as Record<string | symbol, unknown>)[k]
    let y = (b as unknown as Record<string | symbol, unknown>)[k]
    if (k === '_header' && typeof x === 'string' && typeof y === 'string') {
      // the two may straddle a second
      x = x.replace(DATE, 'Date: -\r\n')
      y = y.replace(DATE, 'Date: -\r\n')
    }
    if (typeof x !== typeof y) return false
    if (x === null || typeof x !== 'object') {
      if (!Object.is(x, y)) return false
    } else if (Array.isArray(x) !== Array.isArray(y) || (Array.isArray(x) && x.length !== (y as unknown[]).length)) {
      return false
    }
  }
  return true
}

interface Scenario {
  method?: string
  minor?: number
  te?: string | undefined
  set?: Partial<Outgoing>
  status: number
  text: string
  headers: string[]
}

const HEADER_SETS: string[][] = [
  [],
  ['Content-Type', 'text/plain', 'Content-Length', '5'],
  ['content-type', 'application/json', 'transfer-encoding', 'chunked'],
  ['Transfer-Encoding', 'gzip'],
  ['connection', 'close', 'content-length', '0'],
  ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=9'],
  ['date', 'Mon, 01 Jan 2024 00:00:00 GMT', 'set-cookie', 'a=1', 'set-cookie', 'b=2'],
  ['content-length', '12', 'Content-Disposition', 'attachment; filename="caf\u00c3\u00a9.txt"'],
  ['content-length', '12', 'Content-Disposition', 'attachment; filename="caf\u00e9.txt"'], // writeHead throws
  ['Content-Disposition', 'attachment; filename="caf\u00e9.txt"', 'content-length', '12'],
  ['x-obs', 'caf\u00e9\u00ff', 'vary', 'accept', 'etag', '"x"', 'content-length', '0'],
]

function scenarios (): Scenario[] {
  const list: Scenario[] = []
  for (const headers of HEADER_SETS) {
    for (const [status, text] of [[200, 'OK'], [204, 'No Content'], [304, ''], [101, 'Switching Protocols'], [404, 'Nope']] as const) {
      list.push({ status, text, headers })
    }
  }
  const states: Array<Partial<Outgoing>> = [
    {},
    { _keepAliveTimeout: 5000 },
    { _keepAliveTimeout: 65_500, _maxRequestsPerSocket: 3 },
    { _keepAliveTimeout: 5000, maxRequestsOnConnectionReached: true },
    { shouldKeepAlive: false },
    { _expect_continue: true },
    { _expect_continue: true, _sent100: true },
    { _last: true },
    { sendDate: false },
  ]
  for (const [method, minor, te] of [['GET', 1], ['HEAD', 1], ['GET', 0], ['GET', 0, 'chunked']] as const) {
    for (const set of states) {
      for (const headers of [HEADER_SETS[0] as string[], HEADER_SETS[1] as string[], HEADER_SETS[5] as string[]]) {
        list.push({ method, minor, te, set, status: 200, text: 'OK', headers })
      }
    }
  }
  return list
}

function selfTest (): boolean {
  if (kOutHeaders === undefined || typeof nativeWriteHead !== 'function' || typeof nativeStoreHeader !== 'function') return false
  for (const s of scenarios()) {
    const viaNode = probe(s.method, s.minor, s.te)
    const here = probe(s.method, s.minor, s.te)
    Object.assign(viaNode, s.set)
    Object.assign(here, s.set)
    let refused = false
    try {
      ;(nativeWriteHead as (this: Outgoing, ...a: unknown[]) => void).call(viaNode, s.status, s.text, [...s.headers])
    } catch {
      refused = true
    }
    const stored = storeHead(here, s.status, s.text, [...s.headers], 0)
    if (refused ? stored : !stored || !sameState(viaNode, here)) return false
  }
  return true
}

let direct = false
try {
  direct = selfTest()
} catch {
  direct = false
}
