// The whole output of a real `sluice start` at the most verbose level, after
// calls that succeed, fail (vendor 401 and 503, unreachable vendor, token
// server down) and are refused (403, 404, 429): every stdout and stderr line
// is searched for each injected secret, the OAuth2 client secret, every access
// token handed out, and the PII the calls carried. None may appear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { sendToken, tokenServer } from '../credentials/helpers.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { freePort } from '../helpers/wait.js'

const SECRETS = {
  'env header': 'trace-env-header-cobra-1931',
  'env query': 'trace-env-query-mango-2842',
  'file header': 'trace-file-header-olive-3753',
  'client id': 'trace-client-id-pecan-4664',
  'client secret': 'trace-client-secret-raven-5575',
}
const PII = {
  email: 'trace.person@example.org',
  card: '4242 4242 4242 4242',
  ssn: '219-09-9999',
  iban: 'GB82WEST12345698765432',
  'app token': 'sk_live_51HtraceAppHeldKey0000xyz',
}
const tokenOf = (n: number): string => `trace-access-token-${n}-quartz`

let up: Upstream
let tokens: Awaited<ReturnType<typeof tokenServer>>
let cli: CliProcess
let proxy: string

beforeAll(async () => {
  const secrets = await mkdtemp(join(tmpdir(), 'sluice-secret-'))
  await writeFile(join(secrets, 'header'), SECRETS['file header'] + '\n')
  tokens = await tokenServer((_req, n, res) => sendToken(res, tokenOf(n)))
  up = await startUpstream((req, res, body) => {
    if (req.url?.startsWith('/v1/unauthorized') === true) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"invalid_token"}')
    } else if (req.url?.startsWith('/v1/unavailable') === true) {
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end(`{"error":"busy","contact":"${PII.email}"}`)
    } else {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' })
      res.end(body.length > 0 ? body : `{"email":"${PII.email}","card":"${PII.card}"}`)
    }
  })
  const dead = `http://127.0.0.1:${await freePort()}`
  const inject = [
    'inject:',
    '  headers:',
    '    Authorization: "Bearer ${env:TRACE_ENV_HEADER}"',
    `    X-Partner-Key: "\${file:${join(secrets, 'header')}}"`,
    '  query:',
    '    key: "${env:TRACE_ENV_QUERY}"',
  ].join('\n')
  const oauth = (tokenUrl: string): string => [
    'inject:',
    '  oauth2:',
    `    tokenUrl: ${tokenUrl}`,
    '    clientId: "${env:TRACE_CLIENT_ID}"',
    '    clientSecret: "${env:TRACE_CLIENT_SECRET}"',
  ].join('\n')
  const logging = 'logging:\n  bodies: true\n'
  const retry = 'retry:\n  attempts: 2\n  backoff: { initial: 10ms, max: 20ms }\n'
  const dir = await policyDir({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\nroutes:\n  allow: [{ paths: ["/v1/**"] }]\n${inject}\n${logging}${retry}`,
    'oauth.yaml': `vendor: oauth\nupstream: ${up.url}\n${oauth(tokens.url)}\n${logging}`,
    'oauthdown.yaml': `vendor: oauthdown\nupstream: ${up.url}\n${oauth(`${dead}/token`)}\n`,
    'dead.yaml': `vendor: dead\nupstream: ${dead}\n${inject}\n${retry}`,
    'tight.yaml': `vendor: tight\nupstream: ${up.url}\n${inject}\nrateLimit:\n  buckets:\n    - { name: b, capacity: 1, refill: 1/h, onLimit: reject }\n`,
  })
  cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0', '--log-level', 'trace'], {
    TRACE_ENV_HEADER: SECRETS['env header'],
    TRACE_ENV_QUERY: SECRETS['env query'],
    TRACE_CLIENT_ID: SECRETS['client id'],
    TRACE_CLIENT_SECRET: SECRETS['client secret'],
  })
  proxy = (await cli.listening).proxy
})
afterAll(async () => {
  if (cli.child.exitCode === null) {
    cli.child.kill('SIGTERM')
    await cli.exited
  }
  await up.close()
  await tokens.close()
})

async function call (path: string, expected: number, opts: { method?: 'GET' | 'POST', body?: string, type?: string } = {}): Promise<void> {
  const res = await request(`${proxy}${path}`, {
    method: opts.method ?? 'GET',
    headers: { authorization: `Bearer ${PII['app token']}`, 'x-user-email': PII.email, ...(opts.type === undefined ? {} : { 'content-type': opts.type }) },
    ...(opts.body === undefined ? {} : { body: opts.body }),
  })
  await res.body.dump()
  expect(res.statusCode, path).toBe(expected)
}

describe('sluice start --log-level trace', () => {
  it('serves, fails and refuses calls carrying secrets and PII', async () => {
    const q = `email=${encodeURIComponent(PII.email)}&card=${encodeURIComponent(PII.card)}&key=client-own`
    const json = JSON.stringify({ email: PII.email, card: PII.card, ssn: PII.ssn, iban: PII.iban, token: PII['app token'] })
    const form = new URLSearchParams({ email: PII.email, card: PII.card, ssn: PII.ssn, note: `iban ${PII.iban}` }).toString()
    await call(`/acme/v1/charges?${q}`, 200)
    await call('/acme/v1/charges', 200, { method: 'POST', body: json, type: 'application/json' })
    await call('/acme/v1/charges', 200, { method: 'POST', body: form, type: 'application/x-www-form-urlencoded' })
    await call(`/acme/v1/unavailable?${q}`, 503) //            vendor 503, retried, relayed
    await call(`/acme/v2/elsewhere?${q}`, 403) //               routes.allow
    await call(`/nobody/v1/x?${q}`, 404) //                     no_route
    await call(`/dead/v1/charges?${q}`, 502) //                 unreachable
    await call(`/tight/v1/a?${q}`, 200)
    await call(`/tight/v1/b?${q}`, 429) //                      rate_limited
    await call(`/oauth/v1/me?${q}`, 200)
    await call('/oauth/v1/me', 200, { method: 'POST', body: json, type: 'application/json' })
    await call(`/oauth/v1/unauthorized?${q}`, 401) //           renewed once, then relayed
    await call(`/oauthdown/v1/me?${q}`, 503) //                 token server down
    expect(tokens.calls).toBe(2)
    // What reached the vendors carried the secrets: they were in play.
    expect(up.seen.some(s => s.headers.authorization === `Bearer ${SECRETS['env header']}`)).toBe(true)
    expect(up.seen.some(s => s.headers.authorization === `Bearer ${tokenOf(2)}`)).toBe(true)
  })

  it('prints none of them on any line, before or after shutdown', async () => {
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    const lines = [...cli.stdout, ...cli.stderr().split('\n')]
    expect(cli.stdout.filter(l => l.includes('"msg":"request"'))).toHaveLength(13)
    const values: Record<string, string> = { ...SECRETS, ...PII, 'access token 1': tokenOf(1), 'access token 2': tokenOf(2) }
    for (const [label, value] of Object.entries(values)) {
      const forms = [value, encodeURIComponent(value), new URLSearchParams([['', value]]).toString().slice(1)]
      const hit = lines.findIndex(line => forms.some(f => line.includes(f)))
      expect(hit, `${label} appears on output line ${hit}`).toBe(-1)
    }
  })
})
