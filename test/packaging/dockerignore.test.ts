// The build context: everything the Dockerfile copies is in it, and local
// state (node_modules, dist, .git, secrets, results) is not.
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { all, parseCopy, readDockerfile, ROOT } from './dockerfile.js'
import { isIgnored, parseDockerignore, readDockerignore } from './dockerignore.js'

const rules = readDockerignore()

function filesUnder (path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path).flatMap(name => filesUnder(join(path, name)))
}

describe('.dockerignore', () => {
  it('keeps every file the Dockerfile copies from the context', () => {
    const sources = readDockerfile().stages
      .flatMap(s => all(s, 'COPY').map(parseCopy))
      .filter(c => c.from === undefined)
      .flatMap(c => c.sources)
    expect(sources.length).toBeGreaterThan(0)
    for (const src of sources) {
      for (const file of filesUnder(join(ROOT, src))) {
        const rel = relative(ROOT, file)
        expect(isIgnored(rules, rel), `${rel} is left out of the build context`).toBe(false)
      }
    }
  })

  it.each([
    'node_modules/fastify/package.json',
    'dist/cli.js',
    'dist/.tsbuildinfo',
    '.git/HEAD',
    'test-results/vitest.json',
    'bench/results/run.json',
    'coverage/lcov.info',
    '.env',
    'src/.env.local',
    'test/proxy/routing.test.ts',
    'helm/sluice/values.yaml',
  ])('leaves out %s', (path) => {
    expect(isIgnored(rules, path)).toBe(true)
  })
})

describe('the matcher these tests rely on', () => {
  it('lets the last matching pattern decide, and matches parent folders', () => {
    const r = parseDockerignore('*\n!src/\nsrc/secret\n**/*.log\n')
    expect(isIgnored(r, 'README.md')).toBe(true)
    expect(isIgnored(r, 'src/a/b.ts')).toBe(false)
    expect(isIgnored(r, 'src/secret/key')).toBe(true)
    expect(isIgnored(r, 'src/a/debug.log')).toBe(true)
    expect(isIgnored(r, 'src/debug.log')).toBe(true)
  })
})
