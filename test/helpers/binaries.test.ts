import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { requireBinary } from './binaries.js'

describe('requireBinary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bin-'))
  const savedPath = process.env.PATH
  afterAll(() => {
    process.env.PATH = savedPath
    rmSync(dir, { recursive: true, force: true })
  })

  it('finds a program on PATH, wherever PATH puts it', () => {
    writeFileSync(join(dir, 'sluice-test-tool'), '#!/bin/sh\n')
    chmodSync(join(dir, 'sluice-test-tool'), 0o755)
    process.env.PATH = `/nonexistent:${dir}`
    expect(requireBinary('sluice-test-tool', 'unused')).toBe(join(dir, 'sluice-test-tool'))
  })

  it('fails at once with the install hint when the program is missing', () => {
    writeFileSync(join(dir, 'not-executable'), 'data')
    process.env.PATH = dir
    expect(() => requireBinary('not-executable', 'apt-get install x')).toThrow('not-executable is not on PATH; these tests need it (apt-get install x)')
    expect(() => requireBinary('sluice-no-such-tool', 'apt-get install y')).toThrow(/apt-get install y/)
  })
})
