// Faulty upstreams and small readers for the resilience tests through a real
// sluice: a raw TCP upstream that reads each request whole (so it can record
// exactly what every attempt carried) and then misbehaves as told.
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface RawSeen {
  method: string
  url: string
  /** lower-case names */
  headers: Record<string, string>
  body: Buffer
}

/** What to do with a connection once a request on it has arrived whole. */
export type RawBehaviour = (socket: Socket, seen: RawSeen, index: number) => void

export interface RawUpstream {
  url: string
  port: number
  seen: RawSeen[]
  close (): Promise<void>
}

/** Destroys the connection after reading the request: a reset before any response byte. */
export const RESET: RawBehaviour = (socket) => { socket.destroy() }

/**
 * A TCP server that speaks just enough HTTP/1.1 to read requests (Content-Length
 * or no body; sluice always sends a buffered body with its length) and hands
 * each one to `behave`. Requests are numbered across connections from 0.
 */
export async function startRawUpstream (behave: RawBehaviour): Promise<RawUpstream> {
  const seen: RawSeen[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buf.subarray(0, end).toString('latin1').split('\r\n')
        const [method = '', url = ''] = (head[0] ?? '').split(' ')
        const headers: Record<string, string> = {}
        for (const line of head.slice(1)) {
          const c = line.indexOf(':')
          if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim()
        }
        const length = Number(headers['content-length'] ?? 0)
        if (buf.length < end + 4 + length) return
        const body = Buffer.from(buf.subarray(end + 4, end + 4 + length))
        buf = buf.subarray(end + 4 + length)
        const s: RawSeen = { method, url, headers, body }
        seen.push(s)
        behave(socket, s, seen.length - 1)
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => new Promise<void>(resolve => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

/** The one request log line of the call with this x-request-id. */
export function lineOf (lines: Array<Record<string, unknown>>, reqId: string): Record<string, unknown> | undefined {
  return lines.find(l => l.msg === 'request' && l.reqId === reqId)
}

/** Retry settings that keep a test fast: tiny backoff, a budget that never stops these few retries. */
export function fastRetry (extra = ''): string {
  return `retry:\n  attempts: 3\n  backoff: { initial: 5ms, max: 20ms, multiplier: 2, jitter: full }\n  budget: 1000%\n${extra}`
}
