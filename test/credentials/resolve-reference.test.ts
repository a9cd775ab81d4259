import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveReference } from '../../src/credentials/index.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-resolve-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('resolveReference (validate --resolve-secrets)', () => {
  it('reads an env variable', () => {
    expect(resolveReference('${env:K}', { K: 'v' })).toBe('v')
    expect(resolveReference('${env:K}', {})).toBeUndefined()
  })

  it('reads a file and drops one trailing newline', () => {
    writeFileSync(join(dir, 'a'), 'secret\n\n')
    writeFileSync(join(dir, 'b'), 'secret\r\n')
    expect(resolveReference(`\${file:${join(dir, 'a')}}`)).toBe('secret\n')
    expect(resolveReference(`\${file:${join(dir, 'b')}}`)).toBe('secret')
    expect(resolveReference(`\${file:${join(dir, 'none')}}`)).toBeUndefined()
  })

  it('is undefined for anything but one reference', () => {
    expect(resolveReference('Bearer ${env:K}', { K: 'v' })).toBeUndefined()
    expect(resolveReference('${env:}', { K: 'v' })).toBeUndefined()
    expect(resolveReference('plain', {})).toBeUndefined()
  })
})
