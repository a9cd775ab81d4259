// Policy loading never follows a symlink out of the policy folder: a symlink
// committed in a policy pull request must not copy a secret file into CI logs
// through `validate` or `explain` messages. The Kubernetes ConfigMap layout
// (`..data -> ..<timestamp>`, files linked into `..data/`) stays readable.
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CLI } from '../helpers/sluice.js'

const exec = promisify(execFile)
async function cli (args: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH } })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

const TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'
// a secret no scrubber pattern knows: only not reading the file keeps it out
const WORDS = 'correct-horse-battery-staple-7731'

// Secret files in three shapes: YAML whose values a schema message would
// quote, broken YAML whose line a parser message would quote, and plain text.
const SECRETS: Record<string, string> = {
  'yaml values': `vendor: ${TOKEN}\nupstream: ${WORDS}\n${WORDS}: 1\n`,
  'broken yaml': `a: |x ${TOKEN} ${WORDS}\n  b: [${WORDS}\n`,
  'plain text': `password = ${WORDS}\ntoken=${TOKEN}\n`,
}

const GOOD = 'vendor: good\nupstream: https://api.good.test\n'

/** A policy folder and, beside it, a folder holding a secret file. */
async function layout (secret: string): Promise<{ root: string, dir: string, secretFile: string }> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-symlinks-'))
  const dir = join(root, 'policies')
  await mkdir(dir)
  await mkdir(join(root, 'home'))
  const secretFile = join(root, 'home', 'secret.txt')
  await writeFile(secretFile, secret)
  await writeFile(join(dir, 'good.yaml'), GOOD)
  return { root, dir, secretFile }
}

function expectNoLeak (out: string): void {
  expect(out).not.toContain(TOKEN)
  expect(out).not.toContain(TOKEN.slice(4, 20))
  expect(out).not.toContain(WORDS)
}

describe('a symlink out of the policy folder', () => {
  for (const [shape, secret] of Object.entries(SECRETS)) {
    for (const target of ['relative', 'absolute']) {
      it(`is reported by validate and explain, naming the file, never quoting it (${shape}, ${target} link)`, async () => {
        const { dir, secretFile } = await layout(secret)
        await symlink(target === 'relative' ? '../home/secret.txt' : secretFile, join(dir, 'leak.yaml'))
        for (const cmd of ['validate', 'explain']) {
          const r = await cli([cmd, dir])
          expect(r.code, cmd).toBe(1)
          expect(r.out).toContain(`${join(dir, 'leak.yaml')}:1:1: `)
          expect(r.out).toMatch(/outside the policy folder/)
          expectNoLeak(r.out)
        }
      })
    }
  }

  it('is refused through a chain of links and through a hostile ..data link', async () => {
    const { dir, root } = await layout(SECRETS['yaml values'] as string)
    await symlink('../home/secret.txt', join(dir, '.hop'))
    await symlink('.hop', join(dir, 'chain.yaml'))
    await symlink(join(root, 'home'), join(dir, '..data'))
    await symlink('..data/secret.txt', join(dir, 'k8s.yaml'))
    const r = await cli(['validate', dir])
    expect(r.code).toBe(1)
    expect(r.out).toContain(`${join(dir, 'chain.yaml')}:1:1: `)
    expect(r.out).toContain(`${join(dir, 'k8s.yaml')}:1:1: `)
    expectNoLeak(r.out)
  })

  it('is refused when the one file named on the command line is such a link', async () => {
    const { dir } = await layout(SECRETS['yaml values'] as string)
    await symlink('../home/secret.txt', join(dir, 'leak.yaml'))
    for (const cmd of ['validate', 'explain']) {
      const r = await cli([cmd, join(dir, 'leak.yaml')])
      expect(r.code, cmd).toBe(1)
      expect(r.out).toMatch(/leak\.yaml:1:1: .*outside the policy folder/)
      expectNoLeak(r.out)
    }
  })
})

describe('links that stay inside the policy folder', () => {
  it('the Kubernetes ConfigMap layout is read', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-configmap-'))
    const stamp = '..2024_05_01_12_00_00.123456789'
    await mkdir(join(root, stamp))
    await writeFile(join(root, stamp, 'good.yaml'), GOOD)
    await writeFile(join(root, stamp, 'defaults.yaml'), 'timeouts:\n  read: 7s\n')
    await symlink(stamp, join(root, '..data'))
    await symlink('..data/good.yaml', join(root, 'good.yaml'))
    await symlink('..data/defaults.yaml', join(root, 'defaults.yaml'))
    const v = await cli(['validate', root])
    expect(v.out).toBe(`${root}: valid\n`)
    expect(v.code).toBe(0)
    const e = await cli(['explain', root])
    expect(e.code).toBe(0)
    expect(JSON.parse(e.out)).toMatchObject([{ vendor: 'good', timeouts: { read: '7s' } }])
    // and so is one file of it named alone
    expect((await cli(['validate', join(root, 'good.yaml')])).code).toBe(0)
  })

  it('a policy folder given as a link is read where it leads', async () => {
    const { root, dir } = await layout('')
    await symlink(dir, join(root, 'current'))
    const v = await cli(['validate', join(root, 'current')])
    expect(v.code).toBe(0)
  })
})
