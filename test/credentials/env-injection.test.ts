import { describe, expect, it } from 'vitest'
import { createCredentials, type Injection } from '../../src/credentials/index.js'
import { SluiceError } from '../../src/errors.js'
import { recordingLogger, vendorPolicy } from './helpers.js'

const env = { STRIPE_API_KEY: 'sk_test_123', PARTNER: 'p&q=1 2' }

describe('env references', () => {
  it('injects a header template mixing literal text and a reference', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { authorization: 'Bearer ${env:STRIPE_API_KEY}' } }), { logger, env })
    const inj = creds.get() as Injection
    expect(inj.headers).toEqual([['authorization', 'Bearer sk_test_123']])
    expect(inj.query).toBe('')
    creds.close()
  })

  it('injects query parameters percent-encoded, keys included', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ query: { api_key: '${env:PARTNER}', 'a b': 'x${env:STRIPE_API_KEY}' } }), { logger, env })
    const inj = creds.get() as Injection
    expect(inj.query).toBe('api_key=p%26q%3D1%202&a%20b=xsk_test_123')
    expect(new URLSearchParams(inj.query).get('api_key')).toBe('p&q=1 2')
    expect([...inj.queryKeys]).toEqual(['api_key', 'a b'])
    creds.close()
  })

  it('strips the configured headers plus every injected one, lower-cased', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({
      headers: { 'X-Api-Key': '${env:STRIPE_API_KEY}' },
      strip: ['Authorization'],
    }), { logger, env })
    const inj = creds.get() as Injection
    expect([...inj.strip].sort()).toEqual(['authorization', 'x-api-key'])
    expect(inj.headers).toEqual([['x-api-key', 'sk_test_123']])
    creds.close()
  })

  it('returns the same Injection object on every call while nothing changes', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { authorization: 'Bearer ${env:STRIPE_API_KEY}' } }), { logger, env })
    const first = creds.get()
    expect(creds.get()).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    creds.close()
  })

  it('lists every value in use for the scrubber', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { a: '${env:STRIPE_API_KEY}' }, query: { b: '${env:PARTNER}' } }), { logger, env })
    expect([...creds.secrets()].sort()).toEqual(['p&q=1 2', 'sk_test_123'])
    expect(creds.unavailable()).toEqual([])
    creds.close()
  })

  it('renew() is false without oauth2', async () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { a: '${env:STRIPE_API_KEY}' } }), { logger, env })
    await expect(creds.renew()).resolves.toBe(false)
    creds.close()
  })
})

describe('an env reference that cannot be resolved', () => {
  it('logs one error naming the reference and answers credential_unavailable on every call', () => {
    const rec = recordingLogger()
    const creds = createCredentials(vendorPolicy({
      headers: { authorization: 'Bearer ${env:MISSING_KEY}', 'x-other': '${env:STRIPE_API_KEY}' },
    }), { logger: rec.logger, env })
    for (let i = 0; i < 3; i++) {
      let err: unknown
      try { creds.get() } catch (e) { err = e }
      expect(err).toBeInstanceOf(SluiceError)
      expect((err as SluiceError).code).toBe('credential_unavailable')
      expect((err as SluiceError).message).toBe('credential ${env:MISSING_KEY} for vendor acme is unavailable')
    }
    const errors = rec.lines.filter(l => l.level === 'error')
    expect(errors).toEqual([{ level: 'error', obj: { vendor: 'acme', reference: '${env:MISSING_KEY}', fix: 'set the environment variable MISSING_KEY for sluice' }, msg: 'credential reference cannot be resolved' }])
    expect(creds.unavailable()).toEqual(['${env:MISSING_KEY}'])
    expect(rec.text()).not.toContain('sk_test_123')
    creds.close()
  })

  it('treats an empty variable as missing: an empty credential is never sent', () => {
    const { logger } = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { authorization: 'Bearer ${env:EMPTY}' } }), { logger, env: { EMPTY: '' } })
    expect(() => creds.get()).toThrow(SluiceError)
    creds.close()
  })
})

describe('a value a header cannot carry', () => {
  it('is refused with credential_unavailable, never sent, and the error names no value', () => {
    const rec = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { authorization: 'Bearer ${env:BAD}' } }), { logger: rec.logger, env: { BAD: 'abc\r\nx-evil: 1' } })
    expect(() => creds.get()).toThrow('credential ${env:BAD} for vendor acme is unavailable')
    expect(creds.unavailable()).toEqual(['${env:BAD}'])
    expect(rec.lines.filter(l => l.level === 'error')).toHaveLength(1)
    expect(rec.text()).not.toContain('evil')
    creds.close()
  })
})

describe('a malformed template that got past the loader', () => {
  it('blocks only its vendor: one error naming the field, credential_unavailable, no throw at creation', () => {
    const rec = recordingLogger()
    const creds = createCredentials(vendorPolicy({ headers: { authorization: 'Bearer ${sk_live_pasted}' } }), { logger: rec.logger, env })
    expect(() => creds.get()).toThrow('a credential for vendor acme is unavailable')
    expect(creds.unavailable()).toEqual(['inject.headers.authorization (malformed)'])
    expect(rec.lines).toHaveLength(1)
    expect(rec.lines[0]).toMatchObject({ level: 'error', obj: { vendor: 'acme', field: 'inject.headers.authorization' }, msg: 'credential template is malformed' })
    expect(rec.text()).not.toContain('sk_live')
    creds.close()
  })
})
