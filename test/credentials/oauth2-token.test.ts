// OAuth2Token's schedule alone, with a stand-in request counted synchronously
// and a clock the test moves: exactly when a token request is (and is not) made.
import { describe, expect, it } from 'vitest'
import { OAuth2Token } from '../../src/credentials/oauth2-token.js'
import { TokenRequestError, type Token } from '../../src/credentials/token-request.js'
import { manualClock, oauth2Policy, recordingLogger } from './helpers.js'

function setup (answer: (n: number) => Promise<Token>) {
  const clock = manualClock(0)
  const requests: number[] = []
  const token = new OAuth2Token({
    vendor: 'acme',
    policy: oauth2Policy('https://auth.acme.test/token'),
    client: () => ({ id: 'id', secret: 'secret' }),
    logger: recordingLogger().logger,
    now: clock.now,
    request: async () => {
      requests.push(clock.t)
      return answer(requests.length)
    },
  })
  return { clock, requests, token }
}

describe('OAuth2Token schedule', () => {
  it('makes no request before the refresh point, one at it, and none while it is under way', async () => {
    const { clock, requests, token } = setup(async n => ({ accessToken: `tok-${n}`, expiresIn: 3600 }))
    await token.current()
    for (clock.t = 0; clock.t < 2_880_000; clock.t += 60_000) expect(token.current()).toBe('tok-1')
    clock.t = 2_879_999
    expect(token.current()).toBe('tok-1')
    expect(requests).toEqual([0])

    clock.t = 2_880_000
    expect(token.current()).toBe('tok-1')
    expect(token.current()).toBe('tok-1')
    expect(requests).toEqual([0, 2_880_000])
    await new Promise(resolve => setImmediate(resolve))
    expect(token.current()).toBe('tok-2')
  })

  it('takes 3600 s when the answer has no expires_in', async () => {
    const { clock, requests, token } = setup(async n => ({ accessToken: `tok-${n}`, expiresIn: undefined }))
    await token.current()
    clock.t = 2_879_999
    token.current()
    expect(requests).toHaveLength(1)
    clock.t = 2_880_000
    token.current()
    expect(requests).toHaveLength(2)
  })

  it('keeps serving a valid token when a background renewal fails, and retries after the backoff', async () => {
    const { clock, requests, token } = setup(async n => {
      if (n === 2) throw new TokenRequestError('token endpoint answered 503', { status: 503 })
      return { accessToken: `tok-${n}`, expiresIn: 100 }
    })
    await token.current()
    clock.t = 50_000
    expect(token.current()).toBe('tok-1')
    await new Promise(resolve => setImmediate(resolve))
    expect(requests).toEqual([0, 50_000])
    clock.t = 50_999
    expect(token.current()).toBe('tok-1')
    expect(requests).toHaveLength(2)
    clock.t = 51_000
    expect(token.current()).toBe('tok-1')
    expect(requests).toEqual([0, 50_000, 51_000])
  })
})
