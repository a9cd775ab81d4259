// .dockerignore as Docker applies it: patterns in order, the last one that
// matches a path (or any folder above it) decides, `!` re-includes. Enough of
// the syntax for this repository's file: `*`, `?`, `**`, `!`, leading and
// trailing slashes.
import { readFileSync } from 'node:fs'
import { ROOT } from './dockerfile.js'

interface Rule {
  exclude: boolean
  regex: RegExp
}

export function readDockerignore (path = `${ROOT}.dockerignore`): Rule[] {
  return parseDockerignore(readFileSync(path, 'utf8'))
}

export function parseDockerignore (text: string): Rule[] {
  const rules: Rule[] = []
  for (const raw of text.split('\n')) {
    let line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const exclude = !line.startsWith('!')
    if (!exclude) line = line.slice(1).trim()
    line = line.replace(/^\/+/, '').replace(/\/+$/, '')
    rules.push({ exclude, regex: globToRegex(line) })
  }
  return rules
}

function globToRegex (glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?'
        i += 2
      } else {
        re += '.*'
        i += 1
      }
    } else if (c === '*') {
      re += '[^/]*'
    } else if (c === '?') {
      re += '[^/]'
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${re}$`)
}

/** Whether `path` (relative to the context root, with `/`) is left out of the build context. */
export function isIgnored (rules: Rule[], path: string): boolean {
  const parts = path.split('/')
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let ignored = false
  for (const rule of rules) {
    if (candidates.some(c => rule.regex.test(c))) ignored = rule.exclude
  }
  return ignored
}
