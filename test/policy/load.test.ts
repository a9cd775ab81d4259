import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatProblem, loadPolicies } from '../../src/policy/load.js'

const VALID = 'vendor: acme\nupstream: https://api.acme.test\n'

function folder (files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-load-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

describe('loadPolicies: which files', () => {
  it('reads *.yaml and *.yml of the folder, not below it, not hidden, not other extensions', async () => {
    const dir = folder({
      'a.yaml': VALID,
      'b.yml': 'vendor: beta\nupstream: https://api.beta.test\n',
      'notes.txt': 'not yaml',
      'c.yaml.bak': 'broken: [',
      '.hidden.yaml': 'broken: [',
      'nested/d.yaml': 'broken: [',
    })
    const { set, problems } = await loadPolicies(dir)
    expect(problems).toEqual([])
    expect(set?.vendors.map(v => v.vendor)).toEqual(['acme', 'beta'])
    expect(set?.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')])
    expect(set?.vendors[0]?.file).toBe(join(dir, 'a.yaml'))
  })

  it('follows a Kubernetes ConfigMap mount: symlinked files, ..data folders skipped', async () => {
    const dir = folder({ '..2024_01_01/acme.yaml': VALID })
    symlinkSync('..2024_01_01', join(dir, '..data'))
    symlinkSync('..data/acme.yaml', join(dir, 'acme.yaml'))
    const { set, problems } = await loadPolicies(dir)
    expect(problems).toEqual([])
    expect(set?.vendors.map(v => v.vendor)).toEqual(['acme'])
  })

  it('applies defaults.yml as the defaults file', async () => {
    const dir = folder({ 'defaults.yml': 'timeouts:\n  connect: 1s\n', 'acme.yaml': VALID })
    const { set } = await loadPolicies(dir)
    expect(set?.vendors[0]?.timeouts.connectMs).toBe(1000)
    expect(set?.files).toContain(join(dir, 'defaults.yml'))
  })

  it('refuses two defaults files', async () => {
    const dir = folder({ 'defaults.yaml': 'timeouts:\n  connect: 1s\n', 'defaults.yml': 'timeouts:\n  connect: 2s\n', 'acme.yaml': VALID })
    const { set, problems } = await loadPolicies(dir)
    expect(set).toBeUndefined()
    expect(problems.map(formatProblem)).toEqual([`${dir}/defaults.yml:1:1: only one defaults file per folder (also ${dir}/defaults.yaml)`])
  })

  it('loads one file given alone, without the defaults beside it', async () => {
    const dir = folder({ 'defaults.yaml': 'timeouts:\n  connect: 1s\n', 'acme.yaml': VALID })
    const { set, problems } = await loadPolicies(join(dir, 'acme.yaml'))
    expect(problems).toEqual([])
    expect(set?.vendors[0]?.timeouts.connectMs).toBe(5000)
  })

  it('checks a defaults file given alone as a defaults file', async () => {
    const dir = folder({ 'defaults.yaml': 'timeouts:\n  connect: 1s\n' })
    expect(await loadPolicies(join(dir, 'defaults.yaml'))).toEqual({ set: { vendors: [], files: [join(dir, 'defaults.yaml')] }, problems: [], warnings: [] })
    writeFileSync(join(dir, 'defaults.yaml'), 'timeouts:\n  connect: soon\n')
    const { problems } = await loadPolicies(join(dir, 'defaults.yaml'))
    expect(problems.map(p => p.message)).toEqual(['timeouts.connect: "soon" is not a duration (250ms, 5s, 2m, 1h, 1d)'])
  })

  it('says so when there is nothing to load', async () => {
    const missing = join(tmpdir(), 'sluice-no-such-folder')
    expect((await loadPolicies(missing)).problems.map(formatProblem)).toEqual([`${missing}:1:1: cannot read: no such file or folder`])
    const empty = folder({ 'README.md': '#' })
    expect((await loadPolicies(empty)).problems.map(formatProblem)).toEqual([`${empty}:1:1: no policy files (*.yaml, *.yml) in this folder`])
    const onlyDefaults = folder({ 'defaults.yaml': 'limits:\n  concurrency: 1\n' })
    expect((await loadPolicies(onlyDefaults)).problems.map(p => p.message)).toEqual(['no vendor policy files in this folder, only defaults'])
  })
})

describe('loadPolicies: problems', () => {
  it('collects the problems of every file, in file order', async () => {
    const dir = folder({
      'a.yaml': 'vendor: a\nupstream: https://a.test\ntimeouts:\n  read: soon\n',
      'b.yaml': 'vendor: b\nupstream: https://b.test\nlimits:\n  bodyy: 1mb\n',
      'c.yaml': VALID,
    })
    const { set, problems } = await loadPolicies(dir)
    expect(set).toBeUndefined()
    expect(problems.map(formatProblem)).toEqual([
      `${dir}/a.yaml:4:9: timeouts.read: "soon" is not a duration (250ms, 5s, 2m, 1h, 1d)`,
      `${dir}/b.yaml:4:3: unknown key "bodyy" (did you mean "body"?)`,
    ])
  })

  it('still reports the vendor files when defaults.yaml is broken', async () => {
    const dir = folder({ 'defaults.yaml': 'timeouts: [\n', 'a.yaml': 'vendor: A\nupstream: https://a.test\n' })
    const messages = (await loadPolicies(dir)).problems.map(p => `${p.file.slice(dir.length + 1)}: ${p.message}`)
    expect(messages).toHaveLength(2)
    expect(messages[0]).toMatch(/^a\.yaml: vendor: "A" is not a vendor name/)
    expect(messages[1]).toMatch(/^defaults\.yaml: invalid YAML/)
  })

  it('ignores a byte order mark and handles CRLF line ends', async () => {
    const dir = folder({ 'a.yaml': '\uFEFFvendor: acme\r\nupstream: https://api.acme.test\r\ntimeouts:\r\n  read: soon\r\n' })
    expect((await loadPolicies(dir)).problems.map(p => `${p.line}:${p.col}`)).toEqual(['4:9'])
  })

  it('refuses alias bombs instead of expanding them', async () => {
    const bomb = ['vendor: acme', 'upstream: https://api.acme.test', 'a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)
    const { problems } = await loadPolicies(folder({ 'a.yaml': bomb.join('\n') }))
    expect(problems[0]?.message).toMatch(/^invalid YAML: .*alias/i)
  })

  it('never throws, whatever the bytes', async () => {
    const dir = folder({})
    const file = join(dir, 'fuzz.yaml')
    const yamlish = fc.array(fc.constantFrom(
      'vendor: ', 'upstream: ', 'https://a.test', 'routes:', 'timeouts:', 'inject:', 'headers:', '  ', '\n', '- ', '[', ']', '{', '}',
      ':', '"', "'", '&a ', '*a', '!tag ', '${env:X}', '${', '#', '---', '5s', '10%', '25/s', 'null', '~', '1e9', '<<: ', '\t', '?'
    ), { maxLength: 40 }).map(parts => parts.join(''))
    await fc.assert(fc.asyncProperty(fc.oneof(yamlish, fc.string()), async text => {
      writeFileSync(file, text)
      const { set, problems } = await loadPolicies(file)
      expect(set === undefined ? problems.length > 0 : problems.length === 0).toBe(true)
      for (const p of problems) {
        expect(p.line).toBeGreaterThanOrEqual(1)
        expect(p.col).toBeGreaterThanOrEqual(1)
      }
    }), { numRuns: 300 })
  })
})

describe('loadPolicies: checks cover what compile needs', () => {
  it('a policy that passes the checks always compiles', async () => {
    const dir = folder({})
    const file = join(dir, 'gen.yaml')
    const dur = fc.constantFrom('0ms', '1ms', '0.5s', '5s', '2m', '1h', '24d', '25d', '1.005s')
    const size = fc.constantFrom('0b', '1kb', '1.5kb', '10mb', '101mb', '1gb')
    const rate = fc.constantFrom('0/s', '25/s', '600/min', '1/day', '0.5/h')
    const pct = fc.constantFrom('0%', '10%', '100%', '150%', '1001%')
    const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined })
    const policy = fc.record({
      vendor: fc.constantFrom('acme', 'a-b', 'x1'),
      upstream: fc.constantFrom('https://a.test', 'http://[::1]:8080/x/', 'https://a.test:443/v1', 'http://10.0.0.1', 'https://u@a.test'),
      timeouts: opt(fc.record({ connect: opt(dur), read: opt(dur), total: opt(dur) })),
      limits: opt(fc.record({ body: opt(size) })),
      rateLimit: opt(fc.record({
        buckets: opt(fc.array(fc.record({
          name: fc.constantFrom('a', 'b'),
          capacity: fc.integer({ min: 1, max: 5 }),
          refill: rate,
          key: opt(fc.constantFrom('vendor', 'ip', 'header:X-Tenant')),
          maxWait: opt(dur),
        }), { maxLength: 2 })),
      })),
      retry: opt(fc.record({ budget: opt(pct), maxBufferedBody: opt(size), backoff: opt(fc.record({ initial: opt(dur), max: opt(dur) })) })),
      circuitBreaker: opt(fc.record({ failureRate: opt(pct), window: opt(dur), openFor: opt(dur) })),
      logging: opt(fc.record({ maxBodyBytes: opt(size) })),
    })
    await fc.assert(fc.asyncProperty(policy, async p => {
      writeFileSync(file, JSON.stringify(p))
      const { set, problems } = await loadPolicies(file)
      expect(problems.filter(x => x.message.startsWith('internal error'))).toEqual([])
      if (set !== undefined) expect(set.vendors).toHaveLength(1)
    }), { numRuns: 300 })
  })
})
