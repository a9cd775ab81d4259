// The "client response" of a job attempt: the pipeline relays the vendor's
// answer (or writes sluice's own) into this sink instead of a socket, so the
// same stages deliver a job as serve a call. The body is kept up to a bound.
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JobResult } from './job.js'

export class Collector extends EventEmitter {
  statusCode = 0
  headers: string[] = []
  headersSent = false
  writableEnded = false
  writableFinished = false
  destroyed = false
  truncated = false
  private readonly chunks: Buffer[] = []
  private size = 0

  constructor (private readonly maxBytes: number) {
    super()
  }

  writeHead (status: number, _reason?: string, headers?: string[] | Record<string, string | number>): this {
    this.statusCode = status
    this.headersSent = true
    if (Array.isArray(headers)) this.headers = headers.map(String)
    else if (headers !== undefined) for (const [k, v] of Object.entries(headers)) this.headers.push(k, String(v))
    return this
  }

  write (chunk: Buffer | string): boolean {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const room = this.maxBytes - this.size
    if (b.length > room) this.truncated = true
    if (room > 0) {
      const kept = b.length > room ? b.subarray(0, room) : b
      this.chunks.push(Buffer.from(kept))
      this.size += kept.length
    }
    return true
  }

  end (chunk?: Buffer | string): this {
    if (chunk !== undefined) this.write(chunk)
    this.writableEnded = true
    this.writableFinished = true
    this.emit('finish')
    return this
  }

  destroy (): this {
    this.destroyed = true
    this.emit('close')
    return this
  }

  setTimeout (): this {
    return this
  }

  result (): JobResult {
    return {
      status: this.statusCode,
      headers: this.headers,
      body: Buffer.concat(this.chunks, this.size).toString('base64'),
      ...(this.truncated ? { truncated: true } : {}),
    }
  }

  asResponse (): ServerResponse {
    return this as unknown as ServerResponse
  }
}

/** The job's request as the pipeline reads one: method, target, headers, a socket address; its body is already whole. */
export function jobRequest (method: string, url: string, rawHeaders: string[], ip: string): IncomingMessage {
  const req = new EventEmitter() as EventEmitter & Record<string, unknown>
  const headers: Record<string, string> = {}
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase()
    headers[name] = headers[name] === undefined ? rawHeaders[i + 1] as string : `${headers[name]}, ${rawHeaders[i + 1] as string}`
  }
  Object.assign(req, {
    method,
    url,
    headers,
    rawHeaders,
    socket: { remoteAddress: ip },
    complete: true,
    destroyed: false,
    errored: null,
    resume () {},
    pause () {},
  })
  return req as unknown as IncomingMessage
}
