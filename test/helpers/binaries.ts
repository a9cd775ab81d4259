// External programs the tests run (redis-server, redis-cli, openssl), found on
// PATH like a shell would. A missing one fails the test that needs it at once,
// with how to install it, instead of a `spawn ENOENT` thrown out of nowhere.
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

const found = new Map<string, string>()

/** The absolute path of `name` on PATH; throws an Error naming `hint` when it is not there. */
export function requireBinary (name: string, hint: string): string {
  const known = found.get(name)
  if (known !== undefined) return known
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (!statSync(candidate).isFile()) continue
    } catch {
      continue
    }
    found.set(name, candidate)
    return candidate
  }
  throw new Error(`${name} is not on PATH; these tests need it (${hint})`)
}

const REDIS_HINT = 'install Redis: apt-get install redis-server, or brew install redis'

export const redisServer = (): string => requireBinary('redis-server', REDIS_HINT)
export const redisCli = (): string => requireBinary('redis-cli', REDIS_HINT)
export const curl = (): string => requireBinary('curl', 'install curl: apt-get install curl, or brew install curl')
export const openssl = (): string => requireBinary('openssl', 'install OpenSSL: apt-get install openssl, or brew install openssl')
