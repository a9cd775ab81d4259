// Reads the repository's Dockerfile into stages and instructions, enough for
// tests to check what the image is built from and how it starts, where no
// Docker engine is at hand. Not a full parser: no heredocs, no escape directive.
import { readFileSync } from 'node:fs'

export const ROOT = new URL('../../', import.meta.url).pathname

export interface Instruction {
  keyword: string
  args: string
  line: number
}

export interface Stage {
  name: string | undefined
  /** the base image, with ARG defaults substituted */
  base: string
  instructions: Instruction[]
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM */
  args: Record<string, string>
  stages: Stage[]
}

export interface Copy {
  from: string | undefined
  sources: string[]
  dest: string
}

export function readDockerfile (path = `${ROOT}Dockerfile`): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'))
}

export function parseDockerfile (text: string): Dockerfile {
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/)
      const base = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[a ?? b ?? ''] ?? '')
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, base, instructions: [] })
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [key = '', value = ''] = ins.args.split('=', 2)
        args[key] = value
      }
    } else {
      (stages.at(-1) as Stage).instructions.push(ins)
    }
  }
  return { args, stages }
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function instructions (text: string): Instruction[] {
  const out: Instruction[] = []
  let current: { parts: string[], line: number } | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const continued = line.endsWith('\\')
    const part = continued ? line.slice(0, -1).trim() : line
    current ??= { parts: [], line: i + 1 }
    current.parts.push(part)
    if (continued) return
    const joined = current.parts.join(' ')
    const space = joined.search(/\s/)
    out.push({
      keyword: (space === -1 ? joined : joined.slice(0, space)).toUpperCase(),
      args: space === -1 ? '' : joined.slice(space + 1).trim(),
      line: current.line,
    })
    current = undefined
  })
  return out
}

export function stage (df: Dockerfile, name: string): Stage {
  const s = df.stages.find(st => st.name === name)
  if (s === undefined) throw new Error(`no stage named ${name} in the Dockerfile`)
  return s
}

export function all (s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter(i => i.keyword === keyword)
}

export function last (s: Stage, keyword: string): Instruction | undefined {
  return all(s, keyword).at(-1)
}

/** COPY/ADD arguments: --from, the sources and the destination. */
export function parseCopy (ins: Instruction): Copy {
  const words = ins.args.startsWith('[') ? JSON.parse(ins.args) as string[] : ins.args.split(/\s+/)
  let from: string | undefined
  const rest: string[] = []
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length)
    else if (!w.startsWith('--')) rest.push(w)
  }
  const dest = rest.pop()
  if (dest === undefined || rest.length === 0) throw new Error(`line ${ins.line}: COPY needs a source and a destination`)
  return { from, sources: rest, dest }
}

/** ENV KEY=VALUE pairs of a stage (later ones win). */
export function env (s: Stage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const ins of all(s, 'ENV')) {
    for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      const value = m[2] as string
      out[m[1] as string] = value.startsWith('"') ? value.slice(1, -1) : value
    }
  }
  return out
}

/** The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK CMD; undefined for the shell form. */
export function execForm (args: string): string[] | undefined {
  const start = args.indexOf('[')
  if (start === -1) return undefined
  try {
    const v = JSON.parse(args.slice(start)) as unknown
    return Array.isArray(v) && v.every(x => typeof x === 'string') ? v : undefined
  } catch {
    return undefined
  }
}
