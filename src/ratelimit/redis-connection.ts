// How sluice reaches Redis (README "Redis"): one server by URL, or a Redis
// Cluster by its seeds; either with a password (AUTH or an ACL user) and TLS.
// A managed cluster (ElastiCache, Memorystore, Azure Cache) requires both, so
// a seed may be a URL as well as host:port: the scheme and credentials of the
// URL seeds apply to every node, found by discovery included.
//
// Nothing here ever quotes a seed or a URL back: either may hold a password.
import type { ClusterNode } from 'ioredis'
import { rootCertificates, type ConnectionOptions } from 'node:tls'

export interface ClusterSeeds {
  nodes: ClusterNode[]
  username: string | undefined
  password: string | undefined
  tls: boolean
}

const DEFAULT_PORT = 6379
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/@[\]]+):(\d{1,5})$/

/**
 * Parses SLUICE_REDIS_CLUSTER's seeds. Throws an Error that names the seed by
 * its position, never by its text.
 */
export function parseClusterSeeds (seeds: readonly string[]): ClusterSeeds {
  const nodes: ClusterNode[] = []
  let auth: { scheme: string, username: string | undefined, password: string | undefined } | undefined
  seeds.forEach((raw, i) => {
    const seed = raw.trim()
    const which = `seed ${i + 1}`
    if (/^rediss?:\/\//i.test(seed)) {
      const url = parseUrl(seed, which)
      const these = {
        scheme: url.protocol.toLowerCase(),
        username: url.username === '' ? undefined : decode(url.username, which),
        password: url.password === '' ? undefined : decode(url.password, which),
      }
      if (auth !== undefined && (auth.scheme !== these.scheme || auth.username !== these.username || auth.password !== these.password)) {
        throw new Error(`${which}: every URL seed must have the same scheme, user and password (one cluster, one login)`)
      }
      auth = these
      nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? DEFAULT_PORT : Number(url.port) })
      return
    }
    const m = HOST_PORT.exec(seed)
    if (m === null) throw new Error(`${which}: expected host:port or a redis:// or rediss:// URL`)
    nodes.push({ host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port: checkPort(Number(m[2]), which) })
  })
  if (nodes.length === 0) throw new Error('no seeds')
  return { nodes, username: auth?.username, password: auth?.password, tls: auth?.scheme === 'rediss:' }
}

function parseUrl (seed: string, which: string): URL {
  let url: URL
  try {
    url = new URL(seed)
  } catch {
    throw new Error(`${which}: not a valid URL`)
  }
  if (url.hostname === '') throw new Error(`${which}: the URL names no host`)
  // A cluster has no databases but 0, and no options in a query.
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw new Error(`${which}: a cluster seed URL is scheme://[user:password@]host:port, nothing after it`)
  }
  if (url.port !== '') checkPort(Number(url.port), which)
  return url
}

function checkPort (port: number, which: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${which}: port out of range`)
  return port
}

function decode (s: string, which: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new Error(`${which}: the user or password is not validly percent-encoded`)
  }
}

/** TLS options for ioredis: trust the CA bundle (SLUICE_REDIS_CA_FILE) as well as Node's own. */
export function redisTls (ca: Buffer | undefined): ConnectionOptions {
  // `ca` alone would replace Node's roots rather than add to them.
  return ca === undefined ? {} : { ca: [...rootCertificates, ca.toString('utf8')] }
}

/** How long ioredis waits before reconnect attempt `attempt`: a little longer each time, at most a second. */
export function reconnectDelay (attempt: number): number {
  return Math.min(attempt * 100, 1000)
}

/** What every cluster node, the ones found by discovery included, takes from the seeds: their login and TLS. */
export function seedNodeOptions (seeds: ClusterSeeds, tlsCa: Buffer | undefined): { username?: string, password?: string, tls?: ConnectionOptions } {
  return {
    ...(seeds.username !== undefined ? { username: seeds.username } : {}),
    ...(seeds.password !== undefined ? { password: seeds.password } : {}),
    ...(seeds.tls ? { tls: redisTls(tlsCa) } : {}),
  }
}

/** TLS options for a server URL: only for rediss:// (a tls option would turn TLS on for redis:// too). */
export function urlTls (url: string, tlsCa: Buffer | undefined): { tls?: ConnectionOptions } {
  return /^rediss:/i.test(url) ? { tls: redisTls(tlsCa) } : {}
}
