// The Helm chart's files as data, for tests that run without helm: values,
// Chart.yaml and the template sources.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from './dockerfile.js'

export const CHART = join(ROOT, 'helm/sluice')
export const APP_CHART = join(ROOT, 'test/packaging/fixtures/app-chart')

export type Values = Record<string, unknown>

export function readYaml (path: string): Values {
  return parse(readFileSync(path, 'utf8')) as Values
}

export function chartValues (): Values {
  return readYaml(join(CHART, 'values.yaml'))
}

/** Template sources by file name (templates/*.yaml, *.tpl, NOTES.txt). */
export function templates (chart = CHART): Record<string, string> {
  const dir = join(chart, 'templates')
  return Object.fromEntries(readdirSync(dir).map(name => [name, readFileSync(join(dir, name), 'utf8')]))
}

/** The body of a named template (`define "name"` up to its matching `end`). */
export function definedTemplate (source: string, name: string): string {
  const start = source.indexOf(`{{- define "${name}" -}}`)
  if (start === -1) throw new Error(`no template named ${name}`)
  const action = /\{\{-?\s*(if|range|with|define|block|end)\b[^}]*\}\}/g
  action.lastIndex = start
  let depth = 0
  for (let m = action.exec(source); m !== null; m = action.exec(source)) {
    depth += m[1] === 'end' ? -1 : 1
    if (depth === 0) return source.slice(start, m.index + m[0].length)
  }
  throw new Error(`template ${name} has no end`)
}

/**
 * Every `.Values.a.b.c` path a template source reads, as ['a', 'b', 'c'].
 * Comments and raw (backquoted) strings are text, not reads.
 */
export function valueRefs (source: string, root = '.Values'): string[][] {
  const code = source.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '').replace(/`[^`]*`/g, '')
  const escaped = root.replace(/\./g, '\\.')
  const refs = new Set<string>()
  for (const m of code.matchAll(new RegExp(`${escaped}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, 'g'))) refs.add((m[1] as string).slice(1))
  return [...refs].map(r => r.split('.'))
}

/** The value at `path`, or undefined when a key on the way is missing. */
export function lookup (values: unknown, path: string[]): unknown {
  let v: unknown = values
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !(key in v)) return undefined
    v = (v as Record<string, unknown>)[key]
  }
  return v
}
