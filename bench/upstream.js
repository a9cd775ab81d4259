// The benchmark's upstream: a minimal node:http server answering every request
// with the same 1 KB JSON body. It runs in its own process so that it never
// shares an event loop with the proxy under test or the load generator, and
// does as little as it can per call: the body and headers are built once.
// Prints {"listening":"http://127.0.0.1:PORT"} once bound.
// With `--tls CERT KEY` it serves HTTPS instead, h2 and HTTP/1.1 on one port
// (ALPN picks), for the HTTPS-upstream rows.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createSecureServer } from 'node:http2'

const BODY_BYTES = 1024
const BODY = Buffer.from(JSON.stringify({ data: 'x'.repeat(BODY_BYTES - 11) }))
const HEADERS = ['content-type', 'application/json', 'content-length', String(BODY.length)]

const tls = process.argv[2] === '--tls'
const TLS_HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) }

const server = tls
  ? createSecureServer({ cert: readFileSync(process.argv[3]), key: readFileSync(process.argv[4]), allowHTTP1: true }, (req, res) => {
    req.resume()
    res.writeHead(200, TLS_HEADERS)
    res.end(BODY)
  })
  : createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    // A GET has no body; drain anything else so the socket stays usable.
    req.resume()
    res.writeHead(200, HEADERS)
    res.end(BODY)
  })
if (tls) server.setTimeout(60_000)

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}` }) + '\n')
})

process.once('SIGTERM', () => {
  server.closeAllConnections?.()
  server.close(() => process.exit(0))
  // an h2 server has no closeAllConnections; its sessions end with the process
  if (tls) setTimeout(() => process.exit(0), 200).unref()
})
