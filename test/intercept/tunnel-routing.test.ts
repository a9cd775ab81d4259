// A request inside an intercepted tunnel goes to the vendor the tunnel was
// opened for, whatever its Host header says: it cannot reach another vendor
// by naming sluice's own address and that vendor's prefix. A vendor URL in a
// Location comes back as the https origin the client tunnelled to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startInterception, type Interception } from './harness.js'
import { curl as curlPath } from '../helpers/binaries.js'

const execFileP = promisify(execFile)
let other: Upstream
let ix: Interception

beforeAll(async () => {
  other = await startUpstream((_req, res) => { res.end('other vendor') })
  ix = await startInterception('api.tunnel.test', { files: { 'other.yaml': `vendor: other\nupstream: ${other.url}\n` } })
})
afterAll(async () => {
  await ix?.close()
  await other?.close()
})

describe('routing inside a tunnel', () => {
  it('follows the tunnel\'s host, not the Host header', async () => {
    const { stdout } = await execFileP(curlPath(), ['-sS', '--max-time', '20', '-x', ix.sluice.url, '--cacert', ix.interceptCa.caFile,
      '-H', `Host: ${new URL(ix.sluice.url).host}`, 'https://api.tunnel.test/other/v1'])
    expect(JSON.parse(stdout)).toMatchObject({ path: '/other/v1' })
    expect(other.seen).toHaveLength(0)
  })

  it('rewrites a Location on the upstream\'s URL to the https origin the client tunnelled to', async () => {
    const { stdout } = await execFileP(curlPath(), ['-sS', '-i', '--max-time', '20', '-x', ix.sluice.url, '--cacert', ix.interceptCa.caFile,
      'https://api.tunnel.test/redirect'])
    expect(stdout).toMatch(/\r\nlocation: https:\/\/api\.tunnel\.test\/v1\/next\r\n/i)
  })
})
