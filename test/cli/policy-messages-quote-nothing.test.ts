// `validate` messages name a position and the problem, never the text of the
// line: a YAML syntax error says what is wrong where, and a token-shaped value
// in a policy file is never printed as it is.
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { CLI, policyDir } from '../helpers/sluice.js'

const exec = promisify(execFile)
async function validate (dir: string): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, 'validate', dir], { env: { PATH: process.env.PATH } })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

const W = 'Zebrafish'
// file -> [text with the secret word W on the failing line, what the message must say]
const SYNTAX: Record<string, [string, RegExp]> = {
  'block-header.yaml': [`vendor: a\nupstream: |x ${W}1\n`, /^block-header\.yaml:2:12: invalid YAML: block scalar header/i],
  'escape.yaml': [`vendor: a\nupstream: "x \\q ${W}2"\n`, /^escape\.yaml:2:\d+: invalid YAML: invalid escape sequence/i],
  'directive.yaml': [`%FOO${W}3 x\n---\nvendor: a\n`, /^directive\.yaml:1:1: invalid YAML: unknown directive/i],
  'flow.yaml': [`vendor: a\nhosts: [b, ${W}4\n`, /^flow\.yaml:\d+:\d+: invalid YAML: /],
  'quote.yaml': [`"${W}5\nvendor: a\n`, /^quote\.yaml:\d+:\d+: invalid YAML: missing closing/i],
  'compact.yaml': [`vendor: a\n  b: ${W}6 d\n`, /^compact\.yaml:\d+:\d+: invalid YAML: /],
  'duplicate.yaml': [`vendor: a\nvendor: ${W}7\n`, /^duplicate\.yaml:2:1: duplicate key "vendor"$/],
  'tag.yaml': [`vendor: a\nupstream: !env ${W}8\n`, /^tag\.yaml:2:11: unsupported YAML tag "!env"$/],
  'token.yaml': ['vendor: a\nupstream: |x ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n', /^token\.yaml:2:12: invalid YAML: block scalar header/i],
}

describe('validate on broken YAML', () => {
  it('names the position and the problem, never the text of the line', async () => {
    const dir = await policyDir(Object.fromEntries(Object.entries(SYNTAX).map(([f, [text]]) => [f, text])))
    const r = await validate(dir)
    expect(r.code).toBe(1)
    expect(r.out).not.toContain(W)
    expect(r.out).not.toContain('A1b2C3d4E5f6')
    const lines = r.out.trim().split('\n').map(l => l.slice(dir.length + 1))
    for (const [file, [, expected]] of Object.entries(SYNTAX)) {
      expect(lines.filter(l => l.startsWith(file)).some(l => expected.test(l)), `${file}: ${lines.filter(l => l.startsWith(file)).join(' | ')}`).toBe(true)
    }
  })
})

describe('validate on a value that looks like a credential', () => {
  it('reports the field without printing the token', async () => {
    const token = 'ghp_' + 'Q7r8A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6'
    const dir = await policyDir({ 'a.yaml': `vendor: ${token}\nupstream: https://a.test\nroutes:\n  hosts: ["${token}."]\n` })
    const r = await validate(dir)
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/a\.yaml:1:9: vendor: .* is not a vendor name/)
    expect(r.out).not.toContain(token.slice(4))
  })
})
