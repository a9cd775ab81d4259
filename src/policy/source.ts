// One policy file as read: its YAML tree with positions, its plain value, and
// the problems found on the way. Every later check reports against this tree,
// so a problem always lands on the LINE:COL of the node it is about.
import { realpath } from 'node:fs/promises'
import { dirname, sep } from 'node:path'
import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, visit, type Document, type Node } from 'yaml'
import { compileTextPatterns } from '../observability/patterns.js'
import { SCRUB_PATTERNS } from './schema.js'
import type { PolicyProblem } from './types.js'

export type FieldPath = ReadonlyArray<string | number>

export interface SourceFile {
  /** the path as given, e.g. policies/stripe.yaml */
  file: string
  /** the plain value, undefined when the YAML itself is broken */
  value: unknown
  doc: Document.Parsed | undefined
  lines: LineCounter
  problems: PolicyProblem[]
}

// A policy is small; anything near this is a mistake or an attack on the parser.
const MAX_ALIASES = 100

/**
 * Where `file` really is, or undefined when a symlink leads it outside the
 * policy folder `root` (the folder itself, or the folder of a file named
 * alone). A symlink committed in a policy pull request must not make
 * `validate` read, and quote, a file from elsewhere. Links that stay inside
 * pass: the Kubernetes ConfigMap layout links every file into `..data/`, itself
 * a link to a timestamped folder beside it. The folder given may itself be a
 * link; it is judged where it leads.
 */
export async function containedPath (file: string, root: string, rootIsFile: boolean): Promise<string | undefined> {
  const realRoot = await realpath(rootIsFile ? dirname(root) : root)
  const real = await realpath(file)
  return real.startsWith(realRoot === sep ? sep : realRoot + sep) ? real : undefined
}

export function parseSource (file: string, text: string): SourceFile {
  const lines = new LineCounter()
  const src: SourceFile = { file, value: undefined, doc: undefined, lines, problems: [] }
  let doc: Document.Parsed
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' })
  } catch (err) {
    src.problems.push(problemAtOffset(src, 0, `invalid YAML: ${libraryMessage((err as Error).message)}`))
    return src
  }
  src.doc = doc
  for (const e of [...doc.errors, ...doc.warnings]) {
    src.problems.push(problemAtOffset(src, e.pos[0], yamlMessage(e.code, e.message, text.slice(e.pos[0], e.pos[1] + 200))))
  }
  // Keys must be plain names: a list or map used as a key would be stringified silently.
  visit(doc, {
    Pair (_, pair) {
      if (pair.key !== null && !isScalar(pair.key) && !isAlias(pair.key)) {
        src.problems.push(problemAtOffset(src, (pair.key as Node).range?.[0] ?? 0, 'invalid YAML: a key must be a plain name, not a list or map'))
      }
    },
  })
  if (src.problems.length > 0) return src
  if (doc.contents === null) {
    src.problems.push({ file, line: 1, col: 1, message: 'empty policy file' })
    return src
  }
  try {
    src.value = doc.toJS({ maxAliasCount: MAX_ALIASES })
  } catch (err) {
    src.problems.push(problemAtOffset(src, 0, `invalid YAML: ${libraryMessage((err as Error).message)}`))
  }
  return src
}

// A message names the position and the problem, never the text of the line:
// a policy file may hold a secret, and CI logs are not the place for it. What
// is quoted is only the offending key or tag, cut short.
function yamlMessage (code: string, message: string, excerpt: string): string {
  if (code === 'DUPLICATE_KEY') {
    // The error marks where the key starts; the key runs to its colon.
    const key = (/^[^:\n]*/.exec(excerpt)?.[0] ?? '').trim().replace(/^(["'])(.*)\1$/, '$2')
    return `duplicate key ${JSON.stringify(short(key))}`
  }
  if (code === 'MULTIPLE_DOCS') return 'one YAML document per file: remove the "---" separator'
  if (code === 'TAG_RESOLVE_FAILED' || code === 'BAD_COLLECTION_TYPE') return `unsupported YAML tag ${JSON.stringify(short(excerpt.trim().split(/\s/)[0] ?? ''))}`
  if (code === 'BAD_DIRECTIVE') return 'invalid YAML: unknown directive (a line starting with %)'
  if (code === 'BAD_DQ_ESCAPE') return 'invalid YAML: invalid escape sequence in a double-quoted string'
  return `invalid YAML: ${libraryMessage(message)}`
}

// The yaml library ends some messages with the source text they are about
// ("Not a YAML token: ...", "Block scalar header includes extra characters: ...").
function libraryMessage (message: string): string {
  const colon = message.indexOf(': ')
  return colon === -1 ? message : message.slice(0, colon)
}

function short (s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

// A value quoted by a check (`vendor: "..." is not a vendor name`) may be a
// credential pasted in the wrong place; it is printed scrubbed, like a log line.
const scrub = compileTextPatterns(SCRUB_PATTERNS)

export function problemAtOffset (src: Pick<SourceFile, 'file' | 'lines'>, offset: number, message: string): PolicyProblem {
  const pos = src.lines.linePos(offset)
  // linePos gives line 0 before the first newline it has seen.
  return { file: src.file, line: Math.max(pos.line, 1), col: Math.max(pos.col, 1), message: scrub(message) }
}

interface Found {
  /** how many path segments matched */
  depth: number
  key: Node | undefined
  value: Node | undefined
}

/**
 * Walks the YAML tree along a field path as far as it goes. Map keys match
 * exactly first, then ignoring case (compiled header names are lower case).
 */
export function findNode (src: SourceFile, path: FieldPath): Found {
  const doc = src.doc
  let node: unknown = doc?.contents ?? undefined
  let found: Found = { depth: 0, key: undefined, value: node as Node | undefined }
  for (const seg of path) {
    if (isAlias(node) && doc !== undefined) node = node.resolve(doc)
    let next: Found | undefined
    if (isMap(node)) {
      const pairs = node.items.filter(isPair)
      const pair = pairs.find(p => isScalar(p.key) && String(p.key.value) === String(seg)) ??
        pairs.find(p => isScalar(p.key) && String(p.key.value).toLowerCase() === String(seg).toLowerCase())
      if (pair !== undefined) next = { depth: found.depth + 1, key: pair.key as Node, value: (pair.value ?? undefined) as Node | undefined }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg]
      if (item !== undefined) next = { depth: found.depth + 1, key: undefined, value: item as Node }
    }
    if (next === undefined) break
    found = next
    node = next.value
  }
  return found
}

export type Anchor = 'value' | 'key' | 'container'

/**
 * The problem for a field: at its value (or key, or the map holding it). A
 * field that is not in the file lands on the nearest ancestor that is.
 */
export function problemAt (src: SourceFile, path: FieldPath, message: string, anchor: Anchor = 'value'): PolicyProblem {
  const target = anchor === 'container' ? path.slice(0, -1) : path
  const found = findNode(src, target)
  const exact = found.depth === target.length
  let node: Node | undefined
  if (exact && anchor === 'key') node = found.key ?? found.value
  else if (found.value !== undefined && !isEmptyScalar(found.value)) node = found.value
  else node = found.key ?? found.value
  const offset = node?.range?.[0] ?? 0
  return problemAtOffset(src, offset, message)
}

/** True when the field is written in this file. */
export function hasField (src: SourceFile | undefined, path: FieldPath): boolean {
  return src !== undefined && findNode(src, path).depth === path.length
}

// `read:` with nothing after it: point at the key, not past the colon.
function isEmptyScalar (node: Node): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined)
}

/** "routes.allow[0].paths[1]": how a field is named in messages. */
export function fieldName (path: FieldPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out === '' ? seg : `.${seg}`
  }
  return out
}

/**
 * The problem for a rule about a vendor's effective value: on the first of
 * `paths` its file writes, else where defaults.yaml writes it (naming the
 * vendor), else on the vendor's name (the value is a built-in default).
 */
export function problemOnWritten (vendor: SourceFile, defaults: SourceFile | undefined, paths: FieldPath[], message: string, vendorName: string): PolicyProblem {
  const own = paths.find(p => hasField(vendor, p))
  if (own !== undefined) return problemAt(vendor, own, message)
  const shared = defaults === undefined ? undefined : paths.find(p => hasField(defaults, p))
  if (defaults !== undefined && shared !== undefined) return problemAt(defaults, shared, `${message} (for vendor "${vendorName}")`)
  return problemAt(vendor, ['vendor'], message)
}
