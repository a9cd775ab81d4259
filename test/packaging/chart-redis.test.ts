// The chart's Redis settings, rendered by a real helm into the standalone
// container's environment, and the install notes' warning when replicas
// would each keep their own buckets.
import { describe, expect, it } from 'vitest'
import { CASES, envOf, notes, renderCase, sluiceContainer, sluicePod } from './chart-cases.js'

const envFor = (name: string): Record<string, unknown> => envOf(sluiceContainer(renderCase(CASES[name] as (typeof CASES)[string])))

describe('the container environment', () => {
  it('redis.url, or the URL from a Secret', () => {
    expect(envFor('redis url').SLUICE_REDIS_URL).toBe('redis://redis:6379')
    expect(envFor('redis url secret').SLUICE_REDIS_URL).toEqual({ secretKeyRef: { name: 'redis-url', key: 'url' } })
  })

  it('cluster seeds, or the seeds from a Secret, and a CA file inside a mounted Secret', () => {
    expect(envFor('redis cluster').SLUICE_REDIS_CLUSTER).toBe('redis-0:6379,redis-1:6379')
    const docs = renderCase(CASES['redis secured'] as (typeof CASES)[string])
    const env = envOf(sluiceContainer(docs))
    expect(env.SLUICE_REDIS_CLUSTER).toEqual({ secretKeyRef: { name: 'redis-seeds', key: 'seeds' } })
    expect(env.SLUICE_REDIS_CA_FILE).toBe('/etc/redis-ca/ca.pem')
    const mount = (sluiceContainer(docs).volumeMounts as Array<{ name: string, mountPath: string }>).find(m => m.mountPath === '/etc/redis-ca')
    const volume = (sluicePod(docs).volumes as Array<{ name: string, secret?: { secretName: string } }>).find(v => v.name === mount?.name)
    expect(volume?.secret?.secretName).toBe('redis-ca')
  })

  it('none of it without Redis', () => {
    const env = envFor('standalone')
    for (const name of ['SLUICE_REDIS_URL', 'SLUICE_REDIS_CLUSTER', 'SLUICE_REDIS_CA_FILE']) expect(env).not.toHaveProperty(name)
  })
})

describe('the install notes', () => {
  const warning = 'WARNING: no Redis is set'

  it('warn that replicas without Redis each keep their own buckets', () => {
    expect(notes({ standalone: { enabled: true } })).toContain(warning)
  })

  it.each(['redis url', 'redis url secret', 'redis cluster', 'redis cluster secret'])('do not warn with %s', (name) => {
    expect(notes((CASES[name] as (typeof CASES)[string]).values)).not.toContain(warning)
  })
})
