// The relayed response head alone, in this process: res.writeHead versus
// writeResponseHead (src/proxy/response-head.ts) for a typical 12-header
// vendor response, A/B in one run. Prints a markdown table; asserts nothing.
//
//   node bench/response-head.js [--rounds N] [--calls N] [--smoke]
//
// Needs dist/ (npm run build). Two measures, rounds interleaved A, B, A, B:
// - over loopback: a node:http server turns undici-style raw header buffers
//   into the head (upstreamHeadersForClient, two rate-limit headers, then one
//   of the two writes) and a 10-byte body, for a client that pipelines
//   keep-alive requests on one socket and only counts bytes; CPU µs per call
//   is process.cpuUsage() (server and client together) over the round's calls;
// - in a loop: the write alone (the same 13-header array each time) on a
//   fresh ServerResponse, ns per head (the response's construction timed
//   apart and subtracted).
import http from 'node:http'
import { connect } from 'node:net'
import { parseArgs } from 'node:util'
import { upstreamHeadersForClient } from '../dist/proxy/headers.js'
import { directResponseHead, writeResponseHead } from '../dist/proxy/response-head.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '20000' },
    smoke: { type: 'boolean', default: false },
  },
})
const rounds = values.smoke ? 2 : Number(values.rounds)
const calls = values.smoke ? 500 : Number(values.calls)
const DEPTH = 16

// A vendor's head as undici hands it over: latin1 buffers, hop-by-hop included.
const RAW = [
  'Date', 'Tue, 01 Jul 2025 10:00:00 GMT',
  'Content-Type', 'application/json; charset=utf-8',
  'Content-Length', '10',
  'Connection', 'keep-alive',
  'Keep-Alive', 'timeout=5',
  'Server', 'nginx',
  'Cache-Control', 'private, max-age=0, no-cache',
  'ETag', 'W/"5c-1a2b3c4d5e6f"',
  'Vary', 'Accept-Encoding, Authorization',
  'Strict-Transport-Security', 'max-age=31536000; includeSubDomains',
  'X-Request-Id', '0f4c2b1e-8a3d-4f7b-9e2a-1b2c3d4e5f60',
  'X-Content-Type-Options', 'nosniff',
].map(s => Buffer.from(s, 'latin1'))
const BODY = Buffer.from('{"id":42}\n')
const sink = { resContentType: undefined, resContentEncoding: undefined, rewriteTarget: () => 'http://127.0.0.1:8080/bench', injectedQueryKeys: undefined }
const UPSTREAM = ['https://api.vendor.example']

const WRITES = {
  writeHead: (res, status, text, headers) => { res.writeHead(status, text, headers) },
  writeResponseHead: (res, status, text, headers, fromParser) => { writeResponseHead(res, status, text, headers, fromParser) },
}

function relayHead (res, write) {
  const headers = upstreamHeadersForClient(RAW, '01JZ3K4M5N6P7Q8R9S0T1U2V3W', UPSTREAM, sink)
  const fromParser = headers.length - 2
  headers.push('RateLimit-Policy', '"vendor";q=600;w=60', 'RateLimit', '"vendor";r=599;t=60')
  write(res, 200, 'OK', headers, fromParser)
}

let mode = 'writeHead'
const server = http.createServer((req, res) => {
  relayHead(res, WRITES[mode])
  res.end(BODY)
})
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
const socket = connect(server.address().port, '127.0.0.1')
await new Promise(resolve => socket.once('connect', resolve))
socket.setNoDelay(true)

const REQUEST = Buffer.from('GET /bench/v1/items/42 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
const BATCH = Buffer.concat(Array.from({ length: DEPTH }, () => REQUEST))

// Both ways send the same bytes (the test says so), so one answer's length counts them all.
let received = 0
let want = 0
let wake = () => {}
socket.on('data', (c) => {
  received += c.length
  if (received >= want) wake()
})
function sendAndAwait (batch, bytes) {
  return new Promise(resolve => {
    want = received + bytes
    wake = resolve
    socket.write(batch)
  })
}
const first = await new Promise(resolve => {
  let text = ''
  const onData = (c) => {
    text += c.toString('latin1')
    if (text.endsWith(BODY.toString('latin1'))) {
      socket.off('data', onData)
      resolve(text)
    }
  }
  socket.on('data', onData)
  socket.write(REQUEST)
})
received = 0
const answerBytes = Buffer.byteLength(first, 'latin1')

async function round (name, n) {
  mode = name
  const batches = Math.ceil(n / DEPTH)
  const start = process.cpuUsage()
  for (let i = 0; i < batches; i++) await sendAndAwait(BATCH, DEPTH * answerBytes)
  const used = process.cpuUsage(start)
  return (used.user + used.system) / (batches * DEPTH)
}

function freshRes () {
  return new http.ServerResponse({ method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} })
}

// the loop's head: built once (neither write changes the array), so only the write is timed
const LOOP_HEADERS = upstreamHeadersForClient(RAW, '01JZ3K4M5N6P7Q8R9S0T1U2V3W', UPSTREAM, sink)
const LOOP_FROM_PARSER = LOOP_HEADERS.length - 2
LOOP_HEADERS.push('RateLimit-Policy', '"vendor";q=600;w=60', 'RateLimit', '"vendor";r=599;t=60')

function timeLoop (n, fn) {
  let sent = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sent += fn() ? 1 : 0
  if (sent !== n) throw new Error('a head was not stored')
  return Number(process.hrtime.bigint() - t0) / n
}

/** ns per head: a fresh response and the write, less the fresh response alone */
function loopNs (name, n) {
  const write = WRITES[name]
  const base = timeLoop(n, () => freshRes() !== undefined)
  const full = timeLoop(n, () => {
    const res = freshRes()
    write(res, 200, 'OK', LOOP_HEADERS, LOOP_FROM_PARSER)
    return res.headersSent
  })
  return full - base
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const range = (xs, digits) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`

// warm-up: both paths, JIT and sockets
await round('writeHead', calls / 4)
await round('writeResponseHead', calls / 4)
loopNs('writeHead', calls / 4)
loopNs('writeResponseHead', calls / 4)

const cpu = { writeHead: [], writeResponseHead: [] }
const ns = { writeHead: [], writeResponseHead: [] }
const cpuRatio = []
const nsRatio = []
for (let r = 0; r < rounds; r++) {
  // alternate which goes first, so neither always follows the other
  const order = r % 2 === 0 ? ['writeHead', 'writeResponseHead'] : ['writeResponseHead', 'writeHead']
  const c = {}
  const l = {}
  for (const name of order) c[name] = await round(name, calls)
  for (const name of order) l[name] = loopNs(name, calls * 5)
  for (const name of order) {
    cpu[name].push(c[name])
    ns[name].push(l[name])
  }
  cpuRatio.push(c.writeResponseHead / c.writeHead)
  nsRatio.push(l.writeResponseHead / l.writeHead)
}
socket.destroy()
server.close()

const lines = [
  `## The relayed response head: writeHead vs writeResponseHead (${rounds} interleaved rounds, ${calls} calls each, Node ${process.versions.node}, direct path ${directResponseHead() ? 'on' : 'OFF (self-test failed: both rows are writeHead)'})`,
  '',
  '| measure | writeHead | writeResponseHead | ratio (per round) |',
  '|---|---|---|---|',
  `| CPU µs per call, loopback keep-alive (${DEPTH} pipelined; server + client), median (min–max) | ${median(cpu.writeHead).toFixed(2)} (${range(cpu.writeHead, 2)}) | ${median(cpu.writeResponseHead).toFixed(2)} (${range(cpu.writeResponseHead, 2)}) | ${median(cpuRatio).toFixed(3)} (${range(cpuRatio, 3)}) |`,
  `| ns per head, in-process loop (the write alone, 13 headers), median (min–max) | ${median(ns.writeHead).toFixed(0)} (${range(ns.writeHead, 0)}) | ${median(ns.writeResponseHead).toFixed(0)} (${range(ns.writeResponseHead, 0)}) | ${median(nsRatio).toFixed(3)} (${range(nsRatio, 3)}) |`,
  '',
  `Each answer: ${answerBytes} bytes, ${first.split('\r\n\r\n')[0].split('\r\n').length - 1} header lines.`,
]
process.stdout.write(lines.join('\n') + '\n')
