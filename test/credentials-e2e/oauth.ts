// One OAuth2 vendor behind a real sluice: a stand-in token server on
// 127.0.0.1 counting its calls, an upstream recording what it got, and the
// policy joining them.
import { sendToken, tokenServer } from '../credentials/helpers.js'
import { startUpstream, type Upstream, type UpstreamHandler } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

export const CLIENT_ID = 'e2e-client-id-4471'
export const CLIENT_SECRET = 'e2e-client-secret-plum-9902'

/** The n-th token the stand-in server hands out: no pattern would know it for a secret. */
export function tokenNumber (n: number): string {
  return `at-${n}-walnut-cedar-${1000 + n}`
}

export interface OAuthCase {
  sluice: TestSluice
  up: Upstream
  tokens: Awaited<ReturnType<typeof tokenServer>>
  stop (): Promise<void>
}

export async function startOAuthCase (
  upstream: UpstreamHandler,
  opts: { tokenDelayMs?: number, policy?: string, logLevel?: string } = {}
): Promise<OAuthCase> {
  process.env.E2E_OAUTH_ID = CLIENT_ID
  process.env.E2E_OAUTH_SECRET = CLIENT_SECRET
  const tokens = await tokenServer((_req, n, res) => sendToken(res, tokenNumber(n), 3600, opts.tokenDelayMs ?? 0))
  const up = await startUpstream(upstream)
  const sluice = await startTestSluice({
    'acme.yaml': [
      'vendor: acme',
      `upstream: ${up.url}`,
      'inject:',
      '  oauth2:',
      `    tokenUrl: ${tokens.url}`,
      '    clientId: "${env:E2E_OAUTH_ID}"',
      '    clientSecret: "${env:E2E_OAUTH_SECRET}"',
      '    scopes: [read, write]',
      opts.policy ?? '',
    ].join('\n'),
  }, opts.logLevel === undefined ? {} : { logLevel: opts.logLevel })
  return {
    sluice,
    up,
    tokens,
    async stop () {
      await sluice.stop()
      await up.close()
      await tokens.close()
    },
  }
}
