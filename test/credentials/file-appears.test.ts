// A file secret missing at start: one error naming the reference, calls
// refused with credential_unavailable, then served once the file appears.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCredentials, type Injection, type VendorCredentials } from '../../src/credentials/index.js'
import { SluiceError } from '../../src/errors.js'
import { recordingLogger, vendorPolicy } from './helpers.js'
import { eventually } from '../helpers/wait.js'

let dir: string
let creds: VendorCredentials | undefined
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sluice-appears-')) })
afterEach(() => {
  creds?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a file secret that appears after start', () => {
  it('answers credential_unavailable until the file is written, then injects it', async () => {
    const path = join(dir, 'key')
    const ref = `\${file:${path}}`
    const rec = recordingLogger()
    // Frozen clock: the watch on the existing directory must notice the new file.
    creds = createCredentials(vendorPolicy({ headers: { authorization: `Bearer ${ref}` } }), { logger: rec.logger, now: () => 0 })

    for (let i = 0; i < 5; i++) {
      let err: unknown
      try { creds.get() } catch (e) { err = e }
      expect(err).toBeInstanceOf(SluiceError)
      expect(err).toMatchObject({ code: 'credential_unavailable', message: `credential ${ref} for vendor acme is unavailable` })
    }
    expect(creds.unavailable()).toEqual([ref])
    expect(rec.lines).toEqual([{ level: 'error', obj: { vendor: 'acme', reference: ref, fix: `create the file ${path}, readable by sluice (a mounted Secret appears there once the mount is ready)` }, msg: 'credential reference cannot be resolved' }])

    writeFileSync(path, 'late-value\n')
    const c = creds
    await eventually(() => {
      try {
        return (c.get() as Injection).headers[0]?.[1] === 'Bearer late-value'
      } catch {
        return false
      }
    })
    expect(c.unavailable()).toEqual([])
    expect(rec.lines.at(-1)).toEqual({ level: 'info', obj: { vendor: 'acme', reference: ref }, msg: 'credential reference resolved' })
    expect(rec.text()).not.toContain('late-value')
  })
})
