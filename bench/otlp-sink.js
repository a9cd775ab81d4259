// An OTLP/HTTP receiver for the traced targets: takes every export request
// (POST /v1/traces), reads it whole and answers 200, counting nothing. Its own
// process, so the cost of tracing measured is sluice's (building, batching,
// encoding and sending spans), not the receiver's.
// Prints {"listening":"http://127.0.0.1:PORT"} once bound.
import { createServer } from 'node:http'

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' })
    res.end()
  })
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}` }) + '\n')
})

process.once('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
