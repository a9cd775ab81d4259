// sluice_credential_available{vendor}: 0 while a `${file:...}` secret is
// missing, 1 once the file appears (with no call made: a scrape looks again),
// 1 throughout for a vendor whose credentials are all there. The real process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'

const SECRET = 'gauge-secret-amber-5521'

let cli: CliProcess
let admin: string
let secrets: string

async function gauge (vendor: string): Promise<string | undefined> {
  const text = await (await request(`${admin}/metrics`)).body.text()
  expect(text).not.toContain(SECRET)
  return new RegExp(`^sluice_credential_available\\{vendor="${vendor}"\\} (\\d+)$`, 'm').exec(text)?.[1]
}

beforeAll(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'sluice-gauge-'))
  const dir = await policyDir({
    'later.yaml': `vendor: later\nupstream: http://127.0.0.1:9\ninject:\n  headers:\n    X-Key: "\${file:${join(secrets, 'key')}}"\n`,
    'plain.yaml': 'vendor: plain\nupstream: http://127.0.0.1:9\ninject:\n  headers:\n    X-Env: "${env:GAUGE_ENV_KEY}"\n',
  })
  cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], { GAUGE_ENV_KEY: 'env-value-3341' })
  ;({ admin } = await cli.listening)
})
afterAll(async () => {
  cli.child.kill('SIGTERM')
  await cli.exited
})

describe('sluice_credential_available', () => {
  it('is 0 for a vendor whose secret file is missing, 1 for one whose credentials resolve', async () => {
    expect(await gauge('later')).toBe('0')
    expect(await gauge('plain')).toBe('1')
  })

  it('turns 1 once the file appears, without any call to the vendor', async () => {
    await writeFile(join(secrets, 'key'), SECRET)
    const end = Date.now() + 10_000
    let value = await gauge('later')
    while (value !== '1' && Date.now() < end) {
      await new Promise(resolve => setTimeout(resolve, 100))
      value = await gauge('later')
    }
    expect(value).toBe('1')
    expect(await gauge('plain')).toBe('1')
  })
})
