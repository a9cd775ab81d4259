// Real HTTP upstreams on 127.0.0.1 for tests: each records what reached it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
}

export interface Upstream {
  url: string
  port: number
  seen: SeenRequest[]
  server: Server
  close (): Promise<void>
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

/** Starts an upstream; the handler runs once the request body has arrived whole. */
export async function startUpstream (handler: UpstreamHandler = (_q, res) => { res.end('ok') }, opts: { streaming?: (req: IncomingMessage, res: ServerResponse) => void } = {}): Promise<Upstream> {
  const seen: SeenRequest[] = []
  const server = createServer((req, res) => {
    if (opts.streaming) {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) })
      opts.streaming(req, res)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body })
      handler(req, res, body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    server,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
