// proxy/upstream-errors: every way an attempt fails, mapped to what the retry
// logic, the breaker, the metrics and the client see.
import { errors } from 'undici'
import { describe, expect, it } from 'vitest'
import { SluiceError } from '../../src/errors.js'
import { FORBIDDEN_DESTINATION, mapUpstreamError, totalTimeoutError } from '../../src/proxy/upstream-errors.js'

const coded = (code: string): Error => Object.assign(new Error(`raw ${code} with secret-ish detail`), { code })

describe('mapUpstreamError', () => {
  it('maps undici timeouts to the phase that timed out', () => {
    const connect = mapUpstreamError(new errors.ConnectTimeoutError(), 'acme')
    expect(connect.outcome).toEqual({ kind: 'timeout', phase: 'connect' })
    expect(connect.kind).toBe('timeout')
    expect(connect.error.code).toBe('upstream_timeout')
    const read = mapUpstreamError(new errors.HeadersTimeoutError(), 'acme')
    expect(read.outcome).toEqual({ kind: 'timeout', phase: 'headers' })
    expect(read.error.message).toContain('read timeout')
  })

  it('a refused or unresolvable connection is a connect error, retried as never sent', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH']) {
      const m = mapUpstreamError(coded(code), 'acme')
      expect(m).toMatchObject({ outcome: { kind: 'connect-error' }, kind: 'connect' })
      expect(m.error.code).toBe('upstream_unreachable')
    }
  })

  it('anything else after the request may have left is a reset', () => {
    for (const err of [coded('ECONNRESET'), new errors.SocketError('other side closed'), new Error('unknown')]) {
      expect(mapUpstreamError(err, 'acme')).toMatchObject({ outcome: { kind: 'reset' }, kind: 'reset' })
    }
  })

  it('a failed TLS handshake is named, neither retried nor counted by the breaker', () => {
    const m = mapUpstreamError(coded('CERT_HAS_EXPIRED'), 'acme')
    expect(m.outcome).toBeUndefined()
    expect(m.kind).toBe('tls')
    expect(m.error.code).toBe('upstream_tls')
    expect(m.error.message).toContain('expired')
    expect(mapUpstreamError(coded('ERR_SSL_SOMETHING_NEW'), 'acme').error.message).toContain('the handshake failed')
  })

  it('a destination the DNS guard refused is forbidden_destination, not the vendor\'s failure', () => {
    const m = mapUpstreamError(coded(FORBIDDEN_DESTINATION), 'acme')
    expect(m).toMatchObject({ outcome: undefined, kind: undefined })
    expect(m.error.code).toBe('forbidden_destination')
  })

  it('passes a SluiceError through (a client stall, the deadline) and keeps raw errors as cause only', () => {
    const own = new SluiceError('client_timeout', 'stalled')
    expect(mapUpstreamError(own, 'acme')).toEqual({ outcome: undefined, kind: undefined, error: own })
    const m = mapUpstreamError(coded('ECONNRESET'), 'acme')
    expect(m.error.message).not.toContain('secret-ish')
    expect((m.error.cause as Error).message).toContain('secret-ish')
    expect(totalTimeoutError('acme').code).toBe('upstream_timeout')
  })
})
