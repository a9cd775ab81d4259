// The import picture of src/ has no arrow running back up: a module imports
// only from its own layer or the ones below it. The lower layers (what a call
// is made of) never know the pipeline, the runtime that holds a policy
// generation, or the listener and process around them.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = new URL('../../src/', import.meta.url).pathname

/**
 * Entries of src/ (folders, or files where a folder straddles two layers) by
 * layer, lowest first. CONNECT interception's CA and tunnel sockets sit low;
 * its listener (intercept/index.ts) beside the other listeners.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'settings.ts', 'policy', 'observability', 'credentials', 'resilience', 'ratelimit', 'proxy', 'intercept'],
  ['runtime'],
  ['pipeline', 'jobs'],
  ['listener', 'admin', 'app.ts', 'replay', 'intercept/index.ts'],
  ['server.ts', 'cli.ts'],
]

/** The layer of a path below src/: its most specific entry's. */
function layerOf (path: string): number {
  let best = -1
  let bestLength = -1
  LAYERS.forEach((layer, i) => {
    for (const entry of layer) {
      if ((path === entry || path.startsWith(entry + '/')) && entry.length > bestLength) {
        best = i
        bestLength = entry.length
      }
    }
  })
  return best
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(d => {
    const path = join(dir, d.name)
    if (d.isDirectory()) return sourceFiles(path)
    return d.name.endsWith('.ts') ? [path] : []
  })
}

const IMPORT = /^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\('([^']+)'\)/gm

/** The relative imports of a file: [specifier, the path below src/ it lands on]. */
function importsOf (file: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3] as string
    if (!spec.startsWith('.')) continue
    const target = relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
    out.push([spec, target.split(sep).join('/')])
  }
  return out
}

/** Every import in src/ that runs from a lower layer up to a higher one, as "from -> to". */
function upwardImports (files: readonly string[]): string[] {
  const wrong: string[] = []
  for (const file of files) {
    const own = relative(SRC, file).split(sep).join('/')
    for (const [spec, target] of importsOf(file)) {
      const arrow = `${relative(SRC, file)} -> ${spec}`
      if (layerOf(target) > layerOf(own)) wrong.push(arrow)
    }
  }
  return wrong
}

describe('the import layering of src/', () => {
  const files = sourceFiles(SRC)

  it('places every top-level entry of src/ in a layer', () => {
    const entries = readdirSync(SRC).filter(e => e.endsWith('.ts') || !e.includes('.'))
    expect(entries.filter(e => layerOf(e) < 0)).toEqual([])
  })

  it('finds the imports it checks', () => {
    const all = files.flatMap(importsOf)
    expect(all.length).toBeGreaterThan(100)
    expect(all.some(([spec, target]) => spec === '../runtime/proxy-runtime.js' && target === 'runtime/proxy-runtime.ts')).toBe(true)
  })

  it('has no import running back up a layer', () => {
    expect(upwardImports(files)).toEqual([])
  })
})
