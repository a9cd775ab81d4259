// SLUICE_REDIS_CLUSTER's seeds: host:port or URLs carrying the cluster's login
// and scheme. A refused seed is named by position, never quoted: it may hold a
// password.
import { describe, expect, it } from 'vitest'
import { parseClusterSeeds } from '../../src/ratelimit/redis-connection.js'
import { SettingsError, loadSettings } from '../../src/settings.js'

const SECRET = 's3cr%2Ct'

describe('parseClusterSeeds', () => {
  it('reads host:port seeds, IPv6 in brackets, with no login and no TLS', () => {
    expect(parseClusterSeeds(['10.0.0.1:7000', 'redis-1.internal:6380', '[::1]:7001'])).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-1.internal', port: 6380 }, { host: '::1', port: 7001 }],
      username: undefined,
      password: undefined,
      tls: false,
    })
  })

  it('takes user, password (percent-decoded) and TLS from URL seeds, for the plain seeds too', () => {
    expect(parseClusterSeeds([`rediss://sluice:${SECRET}@a.example:6379`, 'b.example:6379', `rediss://sluice:${SECRET}@c.example`])).toEqual({
      nodes: [{ host: 'a.example', port: 6379 }, { host: 'b.example', port: 6379 }, { host: 'c.example', port: 6379 }],
      username: 'sluice',
      password: 's3cr,t',
      tls: true,
    })
    expect(parseClusterSeeds([`redis://:${SECRET}@a.example:7000`])).toMatchObject({ username: undefined, password: 's3cr,t', tls: false })
  })

  it.each([
    ['URL seeds that disagree on the password', ['rediss://:pw-alpha@a:1', 'rediss://:pw-bravo@b:2'], /seed 2: every URL seed must have the same/],
    ['URL seeds that disagree on the scheme', ['rediss://:pw-alpha@a:1', 'redis://:pw-alpha@b:2'], /seed 2: every URL seed/],
    ['a seed with no port', ['a:1', 'secret-host'], /seed 2: expected host:port/],
    ['a port out of range', ['a:70000'], /seed 1: port out of range/],
    ['a URL with a database', ['redis://:pw@a:1/2'], /seed 1: a cluster seed URL is/],
    ['a URL with options', ['redis://:pw@a:1?tls=true'], /seed 1: a cluster seed URL is/],
    ['a badly encoded password', ['redis://:%E0%A4%A@a:1'], /seed 1: the user or password is not validly percent-encoded/],
    ['no seeds at all', [], /no seeds/],
  ])('refuses %s, quoting nothing of it', (_what, seeds, message) => {
    let caught: unknown
    try {
      parseClusterSeeds(seeds)
    } catch (err) {
      caught = err
    }
    expect((caught as Error).message).toMatch(message)
    for (const seed of seeds) {
      for (const part of seed.split(/[/:@?]+/).filter(p => p.length > 2)) expect((caught as Error).message).not.toContain(part)
    }
  })
})

describe('SLUICE_REDIS_CLUSTER and SLUICE_REDIS_CA_FILE settings', () => {
  it('keeps valid seeds as given, and the CA file path', () => {
    const s = loadSettings({}, { SLUICE_REDIS_CLUSTER: ` rediss://:${SECRET}@a:1 , b:2 `, SLUICE_REDIS_CA_FILE: '/etc/redis-ca.pem' })
    expect(s.redisCluster).toEqual([`rediss://:${SECRET}@a:1`, 'b:2'])
    expect(s.redisCaFile).toBe('/etc/redis-ca.pem')
  })

  it('refuses a bad seed with a settings error that does not show the password', () => {
    const load = (): unknown => loadSettings({}, { SLUICE_REDIS_CLUSTER: `rediss://:${SECRET}@a:1,rediss://:other-${SECRET}@b:2` })
    expect(load).toThrow(SettingsError)
    expect(load).toThrow(/^SLUICE_REDIS_CLUSTER: seed 2: /)
    try {
      load()
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cr')
    }
  })
})

describe('SLUICE_REDIS_TIMEOUT', () => {
  it('is how slow a Redis command may be before Redis counts as down: 150 ms unless set', () => {
    expect(loadSettings({}, {}).redisTimeoutMs).toBe(150)
    expect(loadSettings({}, { SLUICE_REDIS_TIMEOUT: '2s' }).redisTimeoutMs).toBe(2000)
    expect(() => loadSettings({}, { SLUICE_REDIS_TIMEOUT: 'soon' })).toThrow(/SLUICE_REDIS_TIMEOUT/)
  })
})
