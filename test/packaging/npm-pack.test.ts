// What `npm pack` (and so `npm publish`) ships: the compiled JavaScript, the
// schema and the example policies. No source maps (they point at src/, which
// is not shipped), no incremental build info, no sources or tests.
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from './dockerfile.js'

const execFileP = promisify(execFile)

async function packed (dir: string): Promise<string[]> {
  // --ignore-scripts: `prepare` would run the build; only the file list matters here.
  const { stdout } = await execFileP('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir })
  const [result] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>
  return (result?.files ?? []).map(f => f.path)
}

const unwanted = (files: string[]): string[] =>
  files.filter(f => f.endsWith('.map') || f.endsWith('.tsbuildinfo') || /^(src|test|bench)\//.test(f) || f.endsWith('.ts'))

describe('npm pack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('leaves out maps, build info, sources and tests, whatever a build left in dist/', async () => {
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
    for (const file of ['dist/cli.js', 'dist/cli.js.map', 'dist/.tsbuildinfo', 'dist/policy/load.js', 'dist/policy/load.js.map',
      'src/cli.ts', 'test/a.test.ts', 'bench/run.js', 'schema/policy.schema.json', 'policies/stripe.yaml']) {
      mkdirSync(join(dir, dirname(file)), { recursive: true })
      writeFileSync(join(dir, file), '')
    }
    const files = await packed(dir)
    expect(files).toContain('dist/cli.js')
    expect(files).toContain('dist/policy/load.js')
    expect(files).toContain('schema/policy.schema.json')
    expect(files).toContain('policies/stripe.yaml')
    expect(unwanted(files)).toEqual([])
  })

  it('ships the command line from this checkout and nothing unwanted', async () => {
    const files = await packed(ROOT)
    expect(files).toContain('dist/cli.js')
    expect(unwanted(files)).toEqual([])
  })
})
