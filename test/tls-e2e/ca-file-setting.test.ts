// SLUICE_CA_FILE is read once at start: a missing file or one holding no PEM
// certificate stops sluice with a message naming the setting and the path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestSluice } from '../helpers/sluice.js'

let dir: string
const POLICY = { 'acme.yaml': 'vendor: acme\nupstream: https://api.acme.test\n' }

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'sluice-ca-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('SLUICE_CA_FILE', () => {
  it('a missing file stops the start', async () => {
    const path = join(dir, 'absent.pem')
    await expect(startTestSluice(POLICY, { env: { SLUICE_CA_FILE: path } })).rejects.toThrow(`SLUICE_CA_FILE: cannot read ${path} (ENOENT)`)
  })

  it('a file without a PEM certificate stops the start', async () => {
    const path = join(dir, 'not.pem')
    await writeFile(path, 'just text\n')
    await expect(startTestSluice(POLICY, { env: { SLUICE_CA_FILE: path } })).rejects.toThrow(`SLUICE_CA_FILE: ${path} holds no PEM certificate`)
  })
})
