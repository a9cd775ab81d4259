// Raw HTTP/1.1 over a socket, for requests no client library will send
// (absolute-form targets, dot-segments, CONNECT, stalled bodies).
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  raw: string
}

export function parseResponse (raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  const [statusLine, ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const c = l.indexOf(':')
    if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
  }
  let body = end === -1 ? '' : raw.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
  return { status: Number(statusLine?.split(' ')[1]), headers, body, raw }
}

function dechunk (s: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const nl = s.indexOf('\r\n', i)
    if (nl === -1) return out
    const size = parseInt(s.slice(i, nl), 16)
    if (!(size > 0)) return out
    out += s.slice(nl + 2, nl + 2 + size)
    i = nl + 2 + size + 2
  }
}

/** Sends `text` as-is and reads until the server closes (send Connection: close). */
export function rawRequest (baseUrl: string, text: string | Buffer, opts: { timeoutMs?: number } = {}): Promise<RawResponse> {
  const url = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    let data = ''
    socket.setTimeout(opts.timeoutMs ?? 5000, () => { socket.destroy(); reject(new Error('raw request timed out: ' + data)) })
    socket.on('data', (c) => { data += c.toString('latin1') })
    socket.on('end', () => resolve(parseResponse(data)))
    socket.on('close', () => resolve(parseResponse(data)))
    socket.on('error', reject)
    socket.write(text)
  })
}
