// The floor: the least a Node.js proxy can spend on a call here. A bare
// node:http server handing each request to undici's Pool.dispatch with a
// minimal handler: no routing, no policy, no header rules, no metrics, no log.
// Nothing a production proxy could ship (it forwards every header as is and
// answers any failure with a bare 502); it is in the run to show how much of
// every proxy's cost is node's HTTP server, undici's client and the two socket
// writes, which no amount of trimming above them removes.
// Forwards /bench/* to the upstream given as the first argument. Prints
// {"listening":"http://127.0.0.1:PORT"}.
import { createServer } from 'node:http'
import { Pool } from 'undici'

const upstream = process.argv[2]
if (upstream === undefined) {
  process.stderr.write('usage: node bench/floor-proxy.js UPSTREAM_URL\n')
  process.exit(2)
}

const PREFIX_LENGTH = '/bench'.length
const pool = new Pool(upstream, { connections: 128 })

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  pool.dispatch({ method: req.method, path: req.url.slice(PREFIX_LENGTH), headers: req.rawHeaders, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onConnect () {},
    onHeaders (status, raw, resume) {
      const headers = []
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1')
        if (name.length !== 10 || name.toLowerCase() !== 'connection') headers.push(name, raw[i + 1].toString('latin1'))
      }
      res.writeHead(status, headers)
      this.resume = resume
      return true
    },
    onData (chunk) {
      if (res.write(chunk)) return true
      res.once('drain', this.resume)
      return false
    },
    onComplete () { res.end() },
    onError () {
      if (res.headersSent) res.destroy()
      else res.writeHead(502).end()
    },
  })
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}` }) + '\n')
})

process.once('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => pool.close().then(() => process.exit(0)))
})
