// The path guard's own rules (internals): a segment that a vendor's server may
// resolve as a dot-segment is refused in every spelling, including the ones
// Tomcat, Jetty and Spring produce by stripping `;parameters` from a segment.
import { describe, expect, it } from 'vitest'
import { isSafePath } from '../../src/proxy/path.js'

const PARAM_DOT_SEGMENTS = [
  '/v1/..;/..;/secret',
  '/v1/..;x/secret',
  '/v1/..;jsessionid=1/admin',
  '/v1/..;JSESSIONID=ABC;x=y/admin',
  '/v1/%2e%2e;/admin',
  '/v1/%2E%2E;/admin',
  '/v1/.%2e;x/admin',
  '/v1/..%3b/admin',
  '/v1/..%3B/admin',
  '/v1/..%3bx=1/admin',
  '/v1/%2e%2e%3b/admin',
  '/v1/.;/admin',
  '/v1/.;x',
  '/v1/%2e;/admin',
  '/v1/.%3b/admin',
  '/v1/%252e%252e%253b/admin',
  '/v1/..%253b/admin',
  '/v1/%25252e%25252e%25253b/admin',
  '/v1/..;',
  '/v1/x/..;',
  '/v1/..;%2fadmin',
]

const PLAIN_DOT_SEGMENTS = ['/v1/..', '/v1/../x', '/v1/%2e%2e/x', '/v1/./x', '/v1/%252e%252e/x', '/v1/..%2fx', '/v1/..\\x']

const SAFE = [
  '/v1/charges',
  '/v1/files/report..final.v2.pdf',
  '/v1/a;b/c',
  '/v1/x;..',
  '/v1/;../c',
  '/v1/...;x',
  '/v1/..x;y',
  '/v1/.well-known/openid',
  '/v1/matrix;a=1;b=2/item',
  '/v1/projects/group%2Fproject/issues',
  '',
  '/',
]

describe('isSafePath', () => {
  for (const p of PARAM_DOT_SEGMENTS) {
    it(`refuses the parameter dot-segment ${p}`, () => {
      expect(isSafePath(p)).toBe(false)
    })
  }
  for (const p of PLAIN_DOT_SEGMENTS) {
    it(`refuses the dot-segment ${p}`, () => {
      expect(isSafePath(p)).toBe(false)
    })
  }
  for (const p of SAFE) {
    it(`passes ${JSON.stringify(p)}`, () => {
      expect(isSafePath(p)).toBe(true)
    })
  }
})
