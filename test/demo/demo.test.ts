// `npm run demo` (scripts/demo.js) runs to its end and shows what it promises:
// a proxied call with the injected key, a retry, a scrubbed log line and a
// rate-limit refusal. Ports and the exact Retry-After vary; the rest is exact.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { expectGolden } from '../helpers/cli.js'

const SCRIPT = fileURLToPath(new URL('../../scripts/demo.js', import.meta.url))

describe('npm run demo', () => {
  it('prints a proxied call, a retry, a scrubbed log line and a 429, then exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH } })
    const normal = stdout.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT').replace(/Retry-After: \d+ s/, 'Retry-After: N s')
    expectGolden(normal, new URL('./demo-output.txt', import.meta.url))
    expect(stdout).toContain('[REDACTED:email]')
  }, 60_000)
})
