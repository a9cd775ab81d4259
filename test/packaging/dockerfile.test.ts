// The Dockerfile, read as data (no Docker engine here; CI builds and runs the
// image): what each stage copies, what the runtime image holds and how it starts.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS } from '../../src/settings.js'
import { all, env, execForm, last, parseCopy, readDockerfile, ROOT, stage } from './dockerfile.js'

const df = readDockerfile()
const runtime = df.stages.at(-1)
if (runtime === undefined) throw new Error('the Dockerfile has no stage')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }, dependencies: Record<string, string>, devDependencies: Record<string, string> }

describe('base images', () => {
  it('every stage is built on one Node.js image, pinned to a major, not latest', () => {
    const bases = new Set(df.stages.map(s => s.base))
    expect(bases.size).toBe(1)
    const [base] = [...bases]
    expect(base).toMatch(/^node:\d+-[a-z]+-slim$/)
  })

  it('the Node.js major is one that package.json engines admits', () => {
    const major = Number(/^node:(\d+)/.exec(df.stages[0]?.base ?? '')?.[1])
    const floor = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1])
    expect(major).toBeGreaterThanOrEqual(floor)
  })
})

describe('build stages', () => {
  it('every COPY from the build context names files that exist', () => {
    for (const s of df.stages) {
      for (const ins of all(s, 'COPY')) {
        const copy = parseCopy(ins)
        if (copy.from !== undefined) continue
        for (const src of copy.sources) expect(existsSync(join(ROOT, src)), `Dockerfile line ${ins.line}: ${src}`).toBe(true)
      }
    }
  })

  it('copies from stages that exist, each defined before it is used', () => {
    df.stages.forEach((s, i) => {
      for (const ins of all(s, 'COPY')) {
        const { from } = parseCopy(ins)
        if (from === undefined) continue
        expect(df.stages.slice(0, i).map(x => x.name), `Dockerfile line ${ins.line}`).toContain(from)
      }
    })
  })

  it('compiles with the package script, from a clean install of the lock file', () => {
    const build = stage(df, 'build')
    const runs = all(build, 'RUN').map(r => r.args)
    expect(runs.some(r => /\bnpm ci\b/.test(r))).toBe(true)
    expect(runs.some(r => /\bnpm run build\b/.test(r))).toBe(true)
    expect(all(build, 'COPY').flatMap(c => parseCopy(c).sources)).toEqual(expect.arrayContaining(['package-lock.json', 'src', 'tsconfig.build.json']))
  })

  it('installs production dependencies without dev ones or install scripts', () => {
    const deps = stage(df, 'prod-deps')
    const install = all(deps, 'RUN').map(r => r.args).find(r => /\bnpm ci\b/.test(r))
    expect(install).toMatch(/--omit=dev\b/)
    // `prepare` runs tsc, which is a dev dependency.
    expect(install).toMatch(/--ignore-scripts\b/)
  })
})

describe('runtime stage', () => {
  const copies = all(runtime, 'COPY').map(parseCopy)

  it('holds dist from the build stage, node_modules from the production install, and package.json', () => {
    expect(copies).toContainEqual({ from: 'build', sources: ['/app/dist'], dest: './dist' })
    expect(copies).toContainEqual({ from: 'prod-deps', sources: ['/app/node_modules'], dest: './node_modules' })
    // "type": "module" in package.json is what makes dist/*.js ESM.
    expect(copies.some(c => c.from === undefined && c.sources.includes('package.json'))).toBe(true)
  })

  it('takes no node_modules from the build stage, which has the dev dependencies', () => {
    for (const c of copies.filter(x => x.from === 'build')) {
      expect(c.sources.some(s => s.includes('node_modules'))).toBe(false)
    }
  })

  it('copies no sources, tests or dev configuration from the context', () => {
    const fromContext = copies.filter(c => c.from === undefined).flatMap(c => c.sources)
    expect(fromContext.sort()).toEqual(['package.json', 'policies', 'schema'])
  })

  it('runs as a numeric non-root user, so Kubernetes runAsNonRoot can check it', () => {
    const user = last(runtime, 'USER')?.args
    expect(user).toMatch(/^\d+(:\d+)?$/)
    expect(Number(user?.split(':')[0])).toBeGreaterThan(0)
  })

  it('keeps the loopback default and points SLUICE_POLICIES at the baked-in examples', () => {
    const vars = env(runtime)
    expect(vars.NODE_ENV).toBe('production')
    // A sidecar binds loopback (SPEC section 1); standalone sets SLUICE_HOST itself.
    expect(vars.SLUICE_HOST).toBeUndefined()
    expect(copies).toContainEqual({ from: undefined, sources: ['policies'], dest: vars.SLUICE_POLICIES })
  })

  it('exposes the default proxy and admin ports', () => {
    const ports = all(runtime, 'EXPOSE').flatMap(e => e.args.split(/\s+/)).map(Number)
    expect(ports.sort()).toEqual([DEFAULT_SETTINGS.port, DEFAULT_SETTINGS.adminPort].sort())
  })

  it('starts the CLI in exec form, so node is PID 1 and receives SIGTERM itself', () => {
    expect(execForm(last(runtime, 'ENTRYPOINT')?.args ?? '')).toEqual(['node', '/app/dist/cli.js'])
    expect(execForm(last(runtime, 'CMD')?.args ?? '')).toEqual(['start'])
  })

  it('checks health with node against the admin /healthz (no curl in a slim image)', () => {
    const check = execForm(last(runtime, 'HEALTHCHECK')?.args ?? '')
    expect(check?.[0]).toBe('node')
    expect(check?.join(' ')).toContain('/healthz')
    expect(check?.join(' ')).toContain('SLUICE_ADMIN_PORT')
  })
})
