// Which job store a process uses, chosen once at start: Redis Streams when
// Redis is configured (every replica shares the jobs), else the file journal
// under SLUICE_DATA_DIR.
import type { Logger } from 'pino'
import type { Settings } from '../settings.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { Jobs } from './service.js'
import { JournalStore } from './journal-store.js'
import { RedisJobStore } from './redis-store.js'

export async function openJobs (settings: Settings, redisTlsCa: Buffer | undefined, runtime: ProxyRuntime, logger: Logger): Promise<Jobs> {
  const redis = settings.redisUrl !== undefined || settings.redisCluster !== undefined
  let store
  if (redis) {
    const r = new RedisJobStore({ url: settings.redisUrl, clusterNodes: settings.redisCluster, tlsCa: redisTlsCa, logger })
    // Listening before the connection is up would refuse the first jobs; a Redis the
    // buckets found away must not hold the listeners any longer.
    await r.ready(runtime.limiter.redisUp ? 5_000 : 0)
    store = r
  } else {
    store = await JournalStore.open(settings.dataDir)
  }
  logger.info({ store: store.kind }, 'job store open')
  return new Jobs(store, runtime, logger)
}
