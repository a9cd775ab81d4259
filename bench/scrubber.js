// The log scrubber alone, in this process: what scrubbing a path and a 4 KB
// body costs a logged call, and that no adversarial input makes a pattern
// backtrack its way to milliseconds. Prints a markdown table; asserts nothing.
//
//   node bench/scrubber.js [--rounds N] [--smoke]     (npm run bench runs it first)
//
// Needs dist/ (npm run build). Figures are medians of N timed runs after a
// warm-up, in microseconds.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { compilePolicy } from '../dist/policy/compile.js'
import { applyDefaults } from '../dist/policy/defaults.js'
import { compileScrubber } from '../dist/observability/scrubber.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' }, smoke: { type: 'boolean', default: false } } })
const rounds = values.smoke ? 5 : Number(values.rounds)

const { logging } = compilePolicy(applyDefaults({
  vendor: 'bench',
  upstream: 'http://127.0.0.1:1',
  logging: { bodies: true, maxBodyBytes: '4kb', redact: { fields: ['card.number'] } },
}, undefined), 'bench.yaml')
const scrubber = compileScrubber({ logging, secrets: () => ['sk_live_injectedvalue123', 'another-injected-secret'] })

function medianUs (run, n) {
  for (let i = 0; i < (values.smoke ? 5 : 200); i++) run() // warm up the JIT and the regex compiler
  const times = []
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    run()
    times.push(Number(process.hrtime.bigint() - start) / 1e3)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

function jsonBody4k () {
  const items = []
  for (let i = 0; items.length < 200 && JSON.stringify(items).length < 3900; i++) {
    items.push({
      id: `ch_${i}abcDEF${i * 7}`,
      amount: 1999 + i,
      currency: 'usd',
      created: 1700000000 + i,
      email: i % 5 === 0 ? `user${i}@example.com` : null,
      description: i % 7 === 0 ? 'card 4242 4242 4242 4242 charged' : 'Monthly subscription',
    })
  }
  return Buffer.from(JSON.stringify({ object: 'list', data: items }).slice(0, 4096))
}

const line = 'INFO 2024-01-15T10:30:00Z user=jo@example.com paid 19.99 EUR order 12345 ok\n'
const textBody = Buffer.from(line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096))
const jsonBody = jsonBody4k()
const body = (buf, type) => () => scrubber.body(buf, type, undefined, buf.length)

const cases = [
  ['path with a query', () => scrubber.path('/v1/charges?limit=10&customer=cus_123&token=abc')],
  ['4 KB JSON body', body(jsonBody, 'application/json')],
  ['4 KB text body', body(textBody, 'text/plain')],
]
// Inputs built to make a careless pattern backtrack; each runs as text, JSON and
// untyped. test/observability/scrubber-adversarial.test.ts checks the same ones.
const ADVERSARIAL = JSON.parse(readFileSync(new URL('./lib/adversarial-inputs.json', import.meta.url), 'utf8'))
  .map(({ name, parts }) => [name, parts.map(([text, times]) => text.repeat(times)).join('')])
for (const [name, input] of ADVERSARIAL) {
  const buf = Buffer.from(input)
  for (const type of ['text/plain', 'application/json', undefined]) cases.push([`adversarial: ${name} (${type ?? 'untyped'})`, body(buf, type)])
}

const rows = cases.map(([name, run]) => `| ${name} | ${medianUs(run, rounds).toFixed(1)} |`)
process.stdout.write(['## Scrubber (in-process, median µs per call)', '', '| input | µs |', '| --- | --- |', ...rows, ''].join('\n') + '\n')
