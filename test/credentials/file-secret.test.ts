// FileSecret alone, without its directory watch, on a clock the test moves:
// what the re-stat catches, and what it must not do (read on every call).
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileSecret, RECHECK_MS, type FileSecretEvent } from '../../src/credentials/file-secret.js'

let dir: string
let path: string
let events: FileSecretEvent[]
let secret: FileSecret | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-file-secret-'))
  path = join(dir, 'key')
  events = []
})
afterEach(() => {
  secret?.close()
  rmSync(dir, { recursive: true, force: true })
})

function open (start: number): FileSecret {
  secret = new FileSecret({ kind: 'file', path, text: `\${file:${path}}` }, start, { notify: e => events.push(e), watch: false })
  return secret
}

describe('FileSecret', () => {
  it('reads the file once at start, one trailing newline dropped', () => {
    writeFileSync(path, 'one\n')
    expect(open(0).value).toBe('one')
  })

  it('does not look at the file again within RECHECK_MS, then picks up a change', () => {
    writeFileSync(path, 'one\n')
    const s = open(0)
    writeFileSync(path, 'two, longer\n')
    expect(s.poll(1)).toBe(false)
    expect(s.poll(RECHECK_MS - 1)).toBe(false)
    expect(s.value).toBe('one')
    expect(s.poll(RECHECK_MS)).toBe(true)
    expect(s.value).toBe('two, longer')
    expect(s.previous).toBe('one')
    expect(events).toEqual(['resolved', 'rotated'])
  })

  it('keeps serving the last good value while the file is gone, and says so once', () => {
    writeFileSync(path, 'one')
    const s = open(0)
    unlinkSync(path)
    expect(s.poll(RECHECK_MS)).toBe(false)
    expect(s.poll(2 * RECHECK_MS)).toBe(false)
    expect(s.value).toBe('one')
    writeFileSync(path, 'two')
    expect(s.poll(3 * RECHECK_MS)).toBe(true)
    expect(s.value).toBe('two')
    expect(events).toEqual(['resolved', 'unreadable', 'rotated'])
  })

  it('keeps the last good value over an empty file caught mid-write, and reads again later', () => {
    writeFileSync(path, 'one')
    const s = open(0)
    writeFileSync(path, '')
    expect(s.poll(RECHECK_MS)).toBe(false)
    expect(s.value).toBe('one')
    writeFileSync(path, 'two')
    expect(s.poll(2 * RECHECK_MS)).toBe(true)
    expect(s.value).toBe('two')
  })

  it('has no value while the file is missing, then finds it', () => {
    const s = open(0)
    expect(s.value).toBeUndefined()
    writeFileSync(path, 'late')
    expect(s.poll(RECHECK_MS)).toBe(true)
    expect(s.value).toBe('late')
    expect(events).toEqual(['resolved'])
  })

  it('reports no change when the file is rewritten with the same value', () => {
    writeFileSync(path, 'same')
    const s = open(0)
    writeFileSync(path, 'same\n')
    expect(s.poll(RECHECK_MS)).toBe(false)
    expect(events).toEqual(['resolved'])
  })
})
