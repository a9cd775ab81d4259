import { describe, expect, it } from 'vitest'
import { compileGlob, globProblem, globSource } from '../../src/policy/glob.js'

function matches (glob: string, path: string): boolean {
  return compileGlob(glob).test(path)
}

describe('path globs', () => {
  it('"*" is exactly one segment', () => {
    expect(matches('/v1/customers/*', '/v1/customers/cus_1')).toBe(true)
    expect(matches('/v1/customers/*', '/v1/customers')).toBe(false)
    expect(matches('/v1/customers/*', '/v1/customers/')).toBe(false)
    expect(matches('/v1/customers/*', '/v1/customers/cus_1/sources')).toBe(false)
    expect(matches('/repos/*/*/issues', '/repos/acme/app/issues')).toBe(true)
    expect(matches('/repos/*/*/issues', '/repos/acme/issues')).toBe(false)
  })

  it('"*" inside a segment stays inside it', () => {
    expect(matches('/files/*.json', '/files/a.json')).toBe(true)
    expect(matches('/files/*.json', '/files/.json')).toBe(true)
    expect(matches('/files/*.json', '/files/a/b.json')).toBe(false)
  })

  it('"**" is any depth, none included', () => {
    for (const path of ['/v1', '/v1/', '/v1/charges', '/v1/charges/ch_1/refunds']) expect(matches('/v1/**', path)).toBe(true)
    for (const path of ['/v1x', '/v2/charges', '/', '']) expect(matches('/v1/**', path)).toBe(false)
    expect(matches('/a/**/z', '/a/z')).toBe(true)
    expect(matches('/a/**/z', '/a/b/c/z')).toBe(true)
    expect(matches('/a/**/z', '/a/b/c/zz')).toBe(false)
    expect(matches('/**', '/anything/at/all')).toBe(true)
  })

  it('is anchored at both ends', () => {
    expect(matches('/v1/charges', '/v1/charges')).toBe(true)
    expect(matches('/v1/charges', '/api/v1/charges')).toBe(false)
    expect(matches('/v1/charges', '/v1/charges/ch_1')).toBe(false)
  })

  it('treats every other character literally', () => {
    expect(matches('/a.b/(c)+[d]$', '/a.b/(c)+[d]$')).toBe(true)
    expect(matches('/a.b', '/aXb')).toBe(false)
    expect(matches('/v1/?x', '/v1/x')).toBe(false)
  })

  it('stays linear on a pathological path', () => {
    const re = compileGlob('/**/**/**/**/x')
    const start = performance.now()
    expect(re.test(`${'/a'.repeat(5000)}/y`)).toBe(false)
    expect(performance.now() - start).toBeLessThan(200)
  })

  it('remembers the glob it came from', () => {
    expect(globSource(compileGlob('/v1/**'))).toBe('/v1/**')
  })

  it('rejects "**" that is not a whole segment', () => {
    expect(globProblem('/v1/a**')).toMatch(/whole path segment/)
    expect(globProblem('/v1/**')).toBeUndefined()
    expect(globProblem('v1')).toBe('must start with /')
  })
})
