// The benchmark's upstream: a minimal node:http server answering every request
// with the same 1 KB JSON body. It runs in its own process so that it never
// shares an event loop with the proxy under test or the load generator, and
// does as little as it can per call: the body and headers are built once.
// Prints {"listening":"http://127.0.0.1:PORT"} once bound.
import { createServer } from 'node:http'

const BODY_BYTES = 1024
const BODY = Buffer.from(JSON.stringify({ data: 'x'.repeat(BODY_BYTES - 11) }))
const HEADERS = ['content-type', 'application/json', 'content-length', String(BODY.length)]

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  // A GET has no body; drain anything else so the socket stays usable.
  req.resume()
  res.writeHead(200, HEADERS)
  res.end(BODY)
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}` }) + '\n')
})

process.once('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
