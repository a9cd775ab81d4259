// The baseline a team would otherwise write: fastify with @fastify/http-proxy,
// logger off, library defaults otherwise. Forwards /bench/* to the upstream
// given as the first argument. Prints {"listening":"http://127.0.0.1:PORT"}.
import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'

const upstream = process.argv[2]
if (upstream === undefined) {
  process.stderr.write('usage: node bench/baseline-proxy.js UPSTREAM_URL\n')
  process.exit(2)
}

const app = Fastify({ logger: false })
await app.register(httpProxy, { upstream, prefix: '/bench', rewritePrefix: '' })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(JSON.stringify({ listening: address }) + '\n')

process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0), () => process.exit(1))
})
