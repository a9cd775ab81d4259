// What a policy change does, vendor by vendor, in plain words: the effective
// policies (defaults merged, secrets masked, as `explain` shows them) of two
// sets compared field by field. A change that loosens a safety is a risk and
// says why, so a reviewer reads the risks first.
import { explainPolicy } from './explain.js'
import type { VendorPolicy } from './types.js'
import { parseDuration, parsePercent, parseRate, parseSize } from './units.js'

export interface PolicyChange {
  /** the field as a path, buckets by name: rateLimit.buckets.burst.capacity */
  field: string
  /** the whole sentence, without the vendor: bucket "burst" capacity 100 → 50 */
  text: string
  before: unknown
  after: unknown
  /** why this loosens a safety; undefined when it does not */
  risk: string | undefined
}

export interface VendorDiff {
  vendor: string
  status: 'added' | 'removed' | 'changed'
  changes: PolicyChange[]
}

type Plain = Record<string, unknown>

/** Vendors in name order; a vendor whose effective policy is the same is left out. */
export function diffPolicies (before: readonly VendorPolicy[], after: readonly VendorPolicy[]): VendorDiff[] {
  const old = new Map(before.map(v => [v.vendor, effective(v)]))
  const now = new Map(after.map(v => [v.vendor, effective(v)]))
  const names = [...new Set([...old.keys(), ...now.keys()])].sort()
  const out: VendorDiff[] = []
  for (const vendor of names) {
    const a = old.get(vendor)
    const b = now.get(vendor)
    if (a === undefined && b !== undefined) out.push({ vendor, status: 'added', changes: [addedVendor(b)] })
    else if (b === undefined) out.push({ vendor, status: 'removed', changes: [{ field: '', text: 'removed', before: undefined, after: undefined, risk: undefined }] })
    else if (a !== undefined) {
      const changes = vendorChanges(a, b)
      if (changes.length > 0) out.push({ vendor, status: 'changed', changes })
    }
  }
  return out
}

function effective (v: VendorPolicy): Plain {
  const { file: _file, ...rest } = explainPolicy(v) as Plain
  return rest
}

function addedVendor (p: Plain): PolicyChange {
  const risks = [
    (p.network as Plain).allowPrivate === true ? 'private addresses allowed' : undefined,
    (p.rateLimit as Plain).mode === 'shadow' ? 'rate limits in shadow mode' : undefined,
    postSentTwice(p) ? 'a POST may be sent more than once' : undefined,
  ].filter(r => r !== undefined)
  return { field: '', text: `new vendor (${String(p.upstream)})`, before: undefined, after: p.upstream, risk: risks.length > 0 ? risks.join('; ') : undefined }
}

function vendorChanges (a: Plain, b: Plain): PolicyChange[] {
  const changes: PolicyChange[] = []
  walk(changes, [], a, b)
  if (!postSentTwice(a) && postSentTwice(b)) {
    const attempts = (b.retry as Plain).attempts as number
    changes.push({
      field: 'retry',
      text: `a POST without an idempotency key may now be sent up to ${attempts} times`,
      before: false,
      after: true,
      risk: 'a POST may be sent more than once',
    })
  }
  return changes
}

/** A POST retried with no key: the vendor may carry it out twice. */
function postSentTwice (p: Plain): boolean {
  const retry = p.retry as Plain
  const generate = (p.idempotency as Plain).generate as string[]
  const allow = (p.routes as Plain).allow as Array<{ methods?: string[] }> | undefined
  const postAllowed = allow === undefined || allow.some(r => r.methods === undefined || r.methods.includes('POST'))
  return (retry.attempts as number) > 1 && retry.idempotentOnly === false && postAllowed && !generate.includes('POST')
}

function walk (out: PolicyChange[], path: string[], a: unknown, b: unknown): void {
  const field = path.join('.')
  if (field === 'rateLimit.buckets') return buckets(out, a as Plain[], b as Plain[])
  if (field === 'routes.allow') return allowRules(out, a as Plain[] | undefined, b as Plain[] | undefined)
  if (isMap(a) && isMap(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])]) walk(out, [...path, key], a[key], b[key])
    return
  }
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].every(v => !isMap(v) && !Array.isArray(v))) return list(out, path, a, b)
  if (JSON.stringify(a) === JSON.stringify(b)) return
  // 25/s and 1500/min are the same rate
  const x = magnitude(a)
  if (x !== undefined && typeof a === 'string' && typeof b === 'string' && x === magnitude(b)) return
  out.push(scalar(path, a, b))
}

function scalar (path: string[], a: unknown, b: unknown): PolicyChange {
  const field = path.join('.')
  return { field, text: `${label(path)} ${shown(a)} → ${shown(b)}`, before: a, after: b, risk: scalarRisk(field, a, b) }
}

/** `rateLimit.buckets.burst.capacity` reads as `bucket "burst" capacity`. */
function label (path: string[]): string {
  if (path[0] === 'rateLimit' && path[1] === 'buckets' && path.length >= 3) {
    return `bucket ${JSON.stringify(path[2])}${path.length > 3 ? ` ${path.slice(3).join('.')}` : ''}`
  }
  return path.join('.')
}

function shown (v: unknown): string {
  if (v === undefined) return '(unset)'
  if (Array.isArray(v)) return v.length === 0 ? '[]' : v.map(x => shown(x)).join(', ')
  if (typeof v === 'object' && v !== null) return JSON.stringify(v)
  return String(v)
}

/** A field's value as a number to compare: 2s, 10mb, 25/s, 10% and plain numbers. */
function magnitude (v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v !== 'string') return undefined
  return parseDuration(v) ?? parseSize(v) ?? parseRate(v) ?? parsePercent(v)
}

// Fields where a larger value loosens a safety, and what that means.
const RAISED: Array<[RegExp, string]> = [
  [/^rateLimit\.buckets\.[^.]+\.(capacity|refill)$/, 'a limit raised'],
  [/^limits\.(body|concurrency)$/, 'a limit raised'],
  [/^timeouts\.(connect|read|total)$/, 'a timeout raised'],
  [/^retry\.(attempts|budget)$/, 'more retries'],
  [/^circuitBreaker\.(failureRate|minimumRequests)$/, 'the breaker opens later'],
  [/^logging\.maxBodyBytes$/, 'more of each body logged'],
]
const LOWERED: Array<[RegExp, string]> = [
  [/^circuitBreaker\.openFor$/, 'the breaker closes sooner'],
]
// Fields where one value loosens a safety: [field, the looser value, why].
const TO: Array<[RegExp, unknown, string]> = [
  [/^network\.allowPrivate$/, true, 'private addresses allowed'],
  [/^rateLimit\.mode$/, 'shadow', 'rate limits only counted, never enforced'],
  [/^rateLimit\.failMode$/, 'open', 'keeps serving when Redis is down, on per-replica buckets'],
  [/^retry\.idempotentOnly$/, false, 'a POST or PATCH may be retried without an idempotency key'],
  [/^retry\.respectRetryAfter$/, false, 'the vendor\'s Retry-After is no longer honoured'],
  [/^rateLimit\.upstream\.retryAfter$/, false, 'the vendor\'s Retry-After no longer pauses its buckets'],
  [/^circuitBreaker\.enabled$/, false, 'the circuit breaker is off'],
  [/^logging\.bodies$/, true, 'request and response bodies logged'],
]

function scalarRisk (field: string, a: unknown, b: unknown): string | undefined {
  if (field === 'upstream') return 'calls, and the credentials injected into them, go to a different upstream'
  if (/^rateLimit\.buckets\.[^.]+\.key$/.test(field) && a === 'vendor') return 'one bucket per key value instead of one for the vendor'
  for (const [re, looser, why] of TO) if (re.test(field)) return b === looser && a !== looser ? why : undefined
  const x = magnitude(a)
  const y = magnitude(b)
  if (x === undefined || y === undefined) return undefined
  for (const [re, why] of RAISED) if (re.test(field)) return y > x ? why : undefined
  for (const [re, why] of LOWERED) if (re.test(field)) return y < x ? why : undefined
  return undefined
}

// Lists where a dropped item loosens a safety, or where an added one does.
const DROPPED: Array<[RegExp, string]> = [
  [/^logging\.redact\./, 'less is scrubbed from the logs'],
  [/^circuitBreaker\.failOn$/, 'the breaker counts fewer failures'],
  [/^inject\.strip$/, 'client headers reach the vendor'],
]
const ADDED: Array<[RegExp, string]> = [
  [/^retry\.on$/, 'retried on more outcomes'],
]

function list (out: PolicyChange[], path: string[], a: unknown[], b: unknown[]): void {
  const field = path.join('.')
  const added = b.filter(v => !a.includes(v))
  const dropped = a.filter(v => !b.includes(v))
  if (added.length === 0 && dropped.length === 0) return
  const words = [
    added.length > 0 ? `adds ${shown(added)}` : undefined,
    dropped.length > 0 ? `drops ${shown(dropped)}` : undefined,
  ].filter(w => w !== undefined).join(', ')
  const risk = dropped.length > 0 ? DROPPED.find(([re]) => re.test(field))?.[1] : undefined
  out.push({ field, text: `${label(path)} ${words}`, before: a, after: b, risk: risk ?? (added.length > 0 ? ADDED.find(([re]) => re.test(field))?.[1] : undefined) })
}

function buckets (out: PolicyChange[], a: Plain[], b: Plain[]): void {
  const old = new Map(a.map(x => [String(x.name), x]))
  const now = new Map(b.map(x => [String(x.name), x]))
  for (const [name, bucket] of old) {
    if (!now.has(name)) {
      out.push({ field: `rateLimit.buckets.${name}`, text: `bucket ${JSON.stringify(name)} removed (was ${bucketText(bucket)})`, before: bucket, after: undefined, risk: 'a limit removed' })
    }
  }
  for (const [name, bucket] of now) {
    const before = old.get(name)
    if (before === undefined) {
      out.push({ field: `rateLimit.buckets.${name}`, text: `new bucket ${JSON.stringify(name)} (${bucketText(bucket)})`, before: undefined, after: bucket, risk: undefined })
      continue
    }
    for (const key of Object.keys({ ...before, ...bucket })) {
      if (key !== 'name') walk(out, ['rateLimit', 'buckets', name, key], before[key], bucket[key])
    }
  }
}

function bucketText (b: Plain): string {
  return `capacity ${String(b.capacity)}, refill ${String(b.refill)}, key ${String(b.key)}, ${String(b.onLimit)}`
}

function allowRules (out: PolicyChange[], a: Plain[] | undefined, b: Plain[] | undefined): void {
  if (a === undefined && b === undefined) return
  if (b === undefined) {
    out.push({ field: 'routes.allow', text: 'routes.allow removed: every method and path under the prefix is allowed', before: a, after: b, risk: 'an allow rule widened' })
    return
  }
  if (a === undefined) {
    out.push({ field: 'routes.allow', text: `routes.allow added: only ${b.map(ruleText).join('; ')}`, before: a, after: b, risk: undefined })
    return
  }
  const old = a.map(ruleText)
  const now = b.map(ruleText)
  for (const rule of now.filter(r => !old.includes(r))) {
    out.push({ field: 'routes.allow', text: `routes.allow now allows ${rule}`, before: a, after: b, risk: 'an allow rule widened' })
  }
  for (const rule of old.filter(r => !now.includes(r))) {
    out.push({ field: 'routes.allow', text: `routes.allow no longer allows ${rule}`, before: a, after: b, risk: undefined })
  }
}

function ruleText (rule: Plain): string {
  const methods = rule.methods as string[] | undefined
  const paths = rule.paths as string[] | undefined
  return `${methods === undefined ? 'any method' : methods.join(', ')} on ${paths === undefined ? 'any path' : paths.join(', ')}`
}

function isMap (v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** How many changes are risks, over every vendor. */
export function riskCount (diffs: readonly VendorDiff[]): number {
  return diffs.reduce((n, d) => n + d.changes.filter(c => c.risk !== undefined).length, 0)
}
