// Schema validation of one file, with messages a person can act on. TypeBox
// reports JSON pointers and generic texts ("Expected string"); this module turns
// each into `field: what is wrong` at the YAML node the pointer names.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'
import {
  Bucket, DefaultsFile, Duration, Idempotency, OAuth2, Percent, PolicyFile, Rate, Routes, Size, Tls,
} from './schema.js'
import { fieldName, problemAt, type FieldPath, type SourceFile } from './source.js'
import type { PolicyProblem } from './types.js'

const checkPolicy = TypeCompiler.Compile(PolicyFile)
const checkDefaults = TypeCompiler.Compile(DefaultsFile)

// What each pattern means, keyed by the pattern itself so the schema stays the
// single source: a pattern added there without a label still gets a message.
const PATTERN_LABELS = new Map<string | undefined, string>([
  [Duration.pattern, 'is not a duration (250ms, 5s, 2m, 1h, 1d)'],
  [Size.pattern, 'is not a size (512kb, 10mb)'],
  [Rate.pattern, 'is not a rate (25/s, 600/min, 5000/h, 100000/day)'],
  [Percent.pattern, 'is not a percent (10%)'],
  [PolicyFile.properties.upstream.pattern, 'is not an upstream URL (http(s)://host[:port][/base-path])'],
  [Routes.properties.prefix.pattern, 'is not a path prefix (/name or /name/name)'],
  [Routes.properties.hosts.items.pattern, 'is not a host name'],
  [Routes.properties.allow.items.properties.paths.items.pattern, 'is not a path (it must start with /)'],
  [Bucket.properties.name.pattern, 'is not a bucket name (lower-case letters, digits and -)'],
  [Bucket.properties.key.pattern, 'is not a bucket key (vendor, ip, header:<name>)'],
  [Idempotency.properties.header.pattern, 'is not an HTTP header name'],
  [OAuth2.properties.tokenUrl.pattern, 'is not an http(s) URL'],
  [Tls.properties.key.pattern, 'is not one secret reference (${file:/path} or ${env:NAME}): PEM text never goes in a policy'],
])

/** Fields whose values are credentials: a message never repeats them. */
export function isSecretField (path: FieldPath): boolean {
  if (path[0] === 'tls') return path[1] === 'ca' || path[1] === 'cert' || path[1] === 'key'
  if (path[0] !== 'inject') return false
  if (path[1] === 'headers' || path[1] === 'query') return true
  return path[1] === 'oauth2' && (path[2] === 'clientId' || path[2] === 'clientSecret')
}

/** Schema problems of a vendor file (or of defaults.yaml). */
export function schemaProblems (src: SourceFile, kind: 'vendor' | 'defaults'): PolicyProblem[] {
  const check: TypeCheck<TSchema> = kind === 'vendor' ? checkPolicy : checkDefaults
  if (check.Check(src.value)) return []
  const problems: PolicyProblem[] = []
  const seen = new Set<string>()
  for (const error of check.Errors(src.value)) {
    const path = parsePointer(error.path)
    // One message per field: a string both too short and off-pattern is one
    // mistake, and a missing key is not also "expected an integer".
    if (seen.has(error.path)) continue
    seen.add(error.path)
    problems.push(toProblem(src, kind, error, path))
  }
  return problems
}

function toProblem (src: SourceFile, kind: 'vendor' | 'defaults', error: ValueError, path: FieldPath): PolicyProblem {
  const name = fieldName(path)
  const last = String(path[path.length - 1] ?? '')
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      if (kind === 'defaults' && path.length === 1 && (last === 'vendor' || last === 'upstream')) {
        return problemAt(src, path, `"${last}" belongs in a vendor file, not in the defaults file`, 'key')
      }
      const hint = suggest(last, Object.keys((error.schema as { properties?: object }).properties ?? {}))
      return problemAt(src, path, `unknown key ${JSON.stringify(last)}${hint}`, 'key')
    }
    case ValueErrorType.ObjectRequiredProperty: {
      const where = fieldName(path.slice(0, -1))
      return problemAt(src, path, `${where === '' ? '' : `${where}: `}missing required key ${JSON.stringify(last)}`, 'container')
    }
    default:
      return problemAt(src, path, `${name === '' ? '' : `${name}: `}${describe(error, path)}`)
  }
}

function describe (error: ValueError, path: FieldPath): string {
  const s = error.schema as Record<string, unknown>
  const got = shown(error.value, path)
  // The vendor name shares its pattern with bucket names: tell them apart by place.
  const label = path.length === 1 && path[0] === 'vendor'
    ? 'is not a vendor name (lower-case letters, digits and -)'
    : PATTERN_LABELS.get(typeof s.pattern === 'string' ? s.pattern : undefined)
  // A duration written as a number (read: 30) is the same mistake as "30 seconds".
  if (label !== undefined && (error.type === ValueErrorType.String || error.type === ValueErrorType.StringPattern)) {
    return `${got} ${label}`
  }
  switch (error.type) {
    case ValueErrorType.StringPattern: return `${got} does not match ${String(s.pattern)}`
    case ValueErrorType.StringMinLength: return 'must not be empty'
    case ValueErrorType.ArrayMinItems: return 'must not be empty'
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum: return `must be at least ${String(s.minimum)} (got ${got})`
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum: return `must be at most ${String(s.maximum)} (got ${got})`
    case ValueErrorType.Union: return `must be ${choices(s)} (got ${got})`
    case ValueErrorType.Literal: return `must be ${JSON.stringify(s.const)} (got ${got})`
    case ValueErrorType.Object: return path.length === 0 ? `a policy file must be a map of fields (got ${got})` : `expected a map (got ${got})`
    default: return `expected ${typeName(s)} (got ${got})`
  }
}

/** "enforce or shadow", "connect-error, timeout, reset or an integer from 400 to 599". */
function choices (union: Record<string, unknown>): string {
  const variants = (union.anyOf as Array<Record<string, unknown>> | undefined) ?? []
  const names = variants.map(v => 'const' in v ? String(v.const) : typeName(v))
  if (names.length <= 1) return names.join('')
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] as string}`
}

function typeName (s: Record<string, unknown>): string {
  switch (s.type) {
    case 'string': return 'a string'
    case 'boolean': return 'true or false'
    case 'null': return 'null'
    case 'array': return 'a list'
    case 'object': return 'a map'
    case 'number': return 'a number'
    case 'integer':
      if (typeof s.minimum === 'number' && typeof s.maximum === 'number') return `an integer from ${s.minimum} to ${s.maximum}`
      return 'an integer'
    default: return 'a valid value'
  }
}

/** The offending value as it reads in a message; never a credential. */
function shown (value: unknown, path: FieldPath): string {
  if (value === null || value === undefined) return 'an empty value'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  if (isSecretField(path)) return `a ${typeof value}`
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  return String(value)
}

function parsePointer (pointer: string): FieldPath {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map(seg => {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~')
    return /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key
  })
}

/** ` (did you mean "retry"?)` for a near miss: a wrong case or one or two typos. */
function suggest (key: string, known: string[]): string {
  const lower = key.toLowerCase()
  const best = known.find(k => k.toLowerCase() === lower) ??
    known.find(k => distance(k.toLowerCase(), lower) <= (lower.length >= 6 ? 2 : 1))
  return best === undefined ? '' : ` (did you mean "${best}"?)`
}

function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
    }
    prev = row
  }
  return prev[b.length] as number
}

/**
 * A copy of a schema-invalid file's value without the fields the schema
 * refused (a list item becomes a hole, so the others keep their index and
 * their LINE:COL), for the field rules to check the rest in the same run.
 * Undefined when the file is not a map at all.
 */
export function pruneInvalid (value: unknown, kind: 'vendor' | 'defaults'): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const check = kind === 'vendor' ? checkPolicy : checkDefaults
  const copy = structuredClone(value) as Record<string, unknown>
  for (const error of check.Errors(value)) {
    let path = parsePointer(error.path)
    // A map missing a required key is left out whole; a file missing one is still checked.
    if (error.type === ValueErrorType.ObjectRequiredProperty) path = path.slice(0, -1)
    if (path.length === 0) {
      if (error.type === ValueErrorType.ObjectRequiredProperty) continue
      return undefined
    }
    removeAt(copy, path)
  }
  return copy
}

function removeAt (root: unknown, path: FieldPath): void {
  let node = root
  for (const seg of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return
    node = (node as Record<string | number, unknown>)[seg]
  }
  if (typeof node !== 'object' || node === null) return
  delete (node as Record<string | number, unknown>)[path[path.length - 1] as string | number]
}
