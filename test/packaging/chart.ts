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

/**
 * The address pattern of `sluice.isLoopback` (its `regexMatch` raw string),
 * as a RegExp: RE2 and JavaScript read this simple pattern alike.
 */
export function loopbackPattern (helpers: string): RegExp {
  const m = /regexMatch `([^`]+)` \./.exec(definedTemplate(helpers, 'sluice.isLoopback'))
  if (m === null) throw new Error('sluice.isLoopback no longer matches a raw-string pattern')
  return new RegExp(m[1] as string)
}

export interface ProbeArgs { loopback: boolean, host: string, port: number, path: string }

/**
 * One probe action as `sluice.probeAction` renders it: the `if .loopback` or
 * the `else` branch, with `{{ .name }}` and `{{ .name | quote }}` filled in.
 * Those are the only actions it holds; this is no template engine, so any
 * other action left in the text throws.
 */
export function renderProbeAction (helpers: string, args: ProbeArgs): Values {
  const body = definedTemplate(helpers, 'sluice.probeAction')
  const m = /^\{\{- define "sluice\.probeAction" -\}\}\s*\{\{- if \.loopback -\}\}([\s\S]*?)\{\{- else -\}\}([\s\S]*?)\{\{- end -\}\}\s*\{\{- end -\}\}$/.exec(body)
  if (m === null) throw new Error('sluice.probeAction is no longer `if .loopback ... else ... end`')
  const branch = (args.loopback ? m[1] : m[2]) as string
  const text = branch.replace(/\{\{ \.(\w+)( \| quote)? \}\}/g, (_, name: string, quote: string | undefined) => {
    const v = String(args[name as keyof ProbeArgs])
    return quote === undefined ? v : JSON.stringify(v)
  })
  if (text.includes('{{')) throw new Error(`an action renderProbeAction cannot render: ${text}`)
  return parse(text) as Values
}
