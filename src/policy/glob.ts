// Path globs of routes.allow, compiled once per policy load: `*` is one path
// segment (or, inside a segment, any run of characters but "/"), `**` is any
// depth including none, everything else is literal. Matches are anchored.

const sources = new WeakMap<RegExp, string>()

/** What is wrong with a glob, or undefined. */
export function globProblem (glob: string): string | undefined {
  if (!glob.startsWith('/')) return 'must start with /'
  for (const seg of glob.split('/')) {
    if (seg.includes('**') && seg !== '**') return '"**" must be a whole path segment (/v1/**)'
  }
  return undefined
}

/**
 * "/v1/**" matches /v1, /v1/ and /v1/a/b but not /v1x; "/v1/customers/*"
 * matches /v1/customers/cus_1 but not /v1/customers or /v1/customers/a/b.
 */
export function compileGlob (glob: string): RegExp {
  let body = ''
  let prevDeep = false
  for (const seg of glob.split('/').slice(1)) {
    if (seg === '**') {
      // Consecutive ** mean the same; merging them keeps the RegExp linear.
      if (!prevDeep) body += '(?:/[^/]*)*'
      prevDeep = true
      continue
    }
    prevDeep = false
    body += seg === '*' ? '/[^/]+' : '/' + seg.split('*').map(escape).join('[^/]*')
  }
  const re = new RegExp(`^${body}$`)
  sources.set(re, glob)
  return re
}

/** The glob a RegExp was compiled from (for explain). */
export function globSource (re: RegExp): string {
  return sources.get(re) ?? re.source
}

function escape (literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
