// Rules the JSON Schema cannot say: URLs that parse, units in sane ranges,
// globs, names unique within a file (secret references: template-checks.ts).
// fileProblems() runs on one schema-valid file alone (vendor or defaults);
// mergedProblems() on a vendor with its defaults applied, for rules that relate
// two fields which may come from different files.
import { globProblem } from './glob.js'
import { HEADER_NAME as HEADER_NAME_PATTERN, type DefaultsFileInput } from './schema.js'
import { secretRefProblems } from './secret-refs.js'
import { OAUTH2_HEADER_DEFAULT, type EffectivePolicyInput } from './defaults.js'
import { fieldName, problemAt, problemOnWritten, type FieldPath, type SourceFile } from './source.js'
import type { PolicyProblem } from './types.js'
import { formatDuration, parseDuration, parsePercent, parseRate, parseSize } from './units.js'

// setTimeout fires at once for delays past 2^31-1 ms; 24d stays below that.
const MAX_DURATION_MS = 24 * 86_400_000
const MAX_BUFFERED_BODY = 100 * 1024 ** 2
const MAX_LOGGED_BODY = 1024 ** 2
// A client must not choose these: they frame the message or name its target.
const NOT_INJECTABLE = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection'])
const HEADER_NAME = new RegExp(HEADER_NAME_PATTERN)

type Report = (path: FieldPath, message: string, anchor?: 'value' | 'key') => void

/** Problems of one schema-valid file, on its own. */
export function fileProblems (src: SourceFile, value: DefaultsFileInput & { upstream?: string }): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  const report: Report = (path, message, anchor = 'value') => {
    problems.push(problemAt(src, path, `${fieldName(path)}: ${message}`, anchor))
  }

  if (value.upstream !== undefined) checkUrl(report, ['upstream'], value.upstream, false)

  const { routes, timeouts, limits, rateLimit, retry, circuitBreaker, inject, logging } = value
  if (routes?.prefix !== undefined && routes.prefix.split('/').some(s => s === '.' || s === '..')) {
    report(['routes', 'prefix'], 'must not contain "." or ".." segments')
  }
  routes?.hosts?.forEach((host, i) => {
    if (host.split('.').some(label => label === '')) report(['routes', 'hosts', i], `${JSON.stringify(host)} is not a host name`)
  })
  if (routes?.allow !== undefined && routes.allow.length === 0) {
    report(['routes', 'allow'], 'an empty list allows nothing; leave allow out to allow everything')
  }
  routes?.allow?.forEach((rule, i) => rule.paths?.forEach((glob, j) => {
    const problem = globProblem(glob)
    if (problem !== undefined) report(['routes', 'allow', i, 'paths', j], problem)
  }))

  for (const key of ['connect', 'read', 'total'] as const) duration(report, ['timeouts', key], timeouts?.[key], 1)
  if (limits?.body !== undefined) size(report, ['limits', 'body'], limits.body, Number.MAX_SAFE_INTEGER)

  const names = new Set<string>()
  rateLimit?.buckets?.forEach((bucket, i) => {
    if (names.has(bucket.name)) report(['rateLimit', 'buckets', i, 'name'], `bucket name ${JSON.stringify(bucket.name)} is used twice`)
    names.add(bucket.name)
    const rate = parseRate(bucket.refill)
    if (rate === 0) report(['rateLimit', 'buckets', i, 'refill'], 'must be more than 0')
    duration(report, ['rateLimit', 'buckets', i, 'maxWait'], bucket.maxWait, 0)
    // An estimate above capacity could never be admitted: every such call would be refused.
    const cost = bucket.cost
    if (typeof cost?.request === 'number' && cost.request > bucket.capacity) {
      report(['rateLimit', 'buckets', i, 'cost', 'request'], `a cost of ${cost.request} is over the bucket's capacity of ${bucket.capacity}: no call could be admitted`)
    }
    if (cost?.default !== undefined && cost.default > bucket.capacity) {
      report(['rateLimit', 'buckets', i, 'cost', 'default'], `a cost of ${cost.default} is over the bucket's capacity of ${bucket.capacity}: no call without an estimate could be admitted`)
    }
  })

  duration(report, ['retry', 'backoff', 'initial'], retry?.backoff?.initial, 0)
  duration(report, ['retry', 'backoff', 'max'], retry?.backoff?.max, 0)
  if (retry?.budget !== undefined && (parsePercent(retry.budget) as number) > 10) {
    report(['retry', 'budget'], `${retry.budget} is more than 1000%`)
  }
  if (retry?.maxBufferedBody !== undefined) size(report, ['retry', 'maxBufferedBody'], retry.maxBufferedBody, MAX_BUFFERED_BODY)

  if (circuitBreaker?.failureRate !== undefined) {
    const rate = parsePercent(circuitBreaker.failureRate) as number
    if (rate <= 0 || rate > 1) report(['circuitBreaker', 'failureRate'], `${circuitBreaker.failureRate} is not between 0% and 100%`)
  }
  duration(report, ['circuitBreaker', 'window'], circuitBreaker?.window, 1)
  duration(report, ['circuitBreaker', 'openFor'], circuitBreaker?.openFor, 1)
  if (circuitBreaker?.bodyRule?.path.split('.').some(s => s === '') === true) {
    report(['circuitBreaker', 'bodyRule', 'path'], `${JSON.stringify(circuitBreaker.bodyRule.path)} is not a dotted path (status or data.ok)`)
  }

  if (inject !== undefined) injectProblems(report, inject)
  for (const field of ['ca', 'cert', 'key'] as const) {
    const template = value.tls?.[field]
    if (template !== undefined) for (const message of secretRefProblems(template)) report(['tls', field], message)
  }
  if (logging?.maxBodyBytes !== undefined) size(report, ['logging', 'maxBodyBytes'], logging.maxBodyBytes, MAX_LOGGED_BODY)
  return problems
}

function injectProblems (report: Report, inject: NonNullable<DefaultsFileInput['inject']>): void {
  const seen = new Map<string, string>()
  for (const name of Object.keys(inject.headers ?? {})) {
    const path = ['inject', 'headers', name]
    const lower = name.toLowerCase()
    if (!HEADER_NAME.test(name)) report(path, `${JSON.stringify(name)} is not an HTTP header name`, 'key')
    else if (NOT_INJECTABLE.has(lower)) report(path, `${JSON.stringify(name)} cannot be injected`, 'key')
    else if (seen.has(lower)) report(path, `header ${JSON.stringify(name)} is also set as ${JSON.stringify(seen.get(lower))}`, 'key')
    seen.set(lower, name)
  }
  for (const name of Object.keys(inject.query ?? {})) {
    const path = ['inject', 'query', name]
    if (name === '') report(path, 'a query parameter name must not be empty', 'key')
  }
  const oauth2 = inject.oauth2
  if (oauth2 !== undefined) {
    checkUrl(report, ['inject', 'oauth2', 'tokenUrl'], oauth2.tokenUrl, true)
    if (oauth2.header !== undefined && NOT_INJECTABLE.has(oauth2.header.toLowerCase())) {
      report(['inject', 'oauth2', 'header'], `${JSON.stringify(oauth2.header)} cannot be injected`)
    }
  }
}

/** An upstream (or token endpoint) must parse, and must not carry credentials. */
function checkUrl (report: Report, path: FieldPath, text: string, queryAllowed: boolean): void {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    report(path, `${JSON.stringify(text)} is not a valid URL: ${urlFault(text)}`)
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') report(path, 'must be an http:// or https:// URL')
  else if (url.username !== '' || url.password !== '') report(path, 'must not contain user:password@ (use inject for credentials)')
  else if (url.hash !== '' || text.includes('#')) report(path, 'must not have a #fragment')
  else if (!queryAllowed && (url.search !== '' || text.includes('?'))) report(path, 'must not have a ?query (use inject.query)')
  else if (url.hostname === '' || /^\.|\.\./.test(url.hostname)) report(path, 'has no valid host name')
}

/** Why WHATWG URL refused `text`, in words (it only says "Invalid URL"). */
export function urlFault (text: string): string {
  const m = /^([^:/?#]+):\/\/([^/?#]*)/.exec(text)
  if (m === null) return 'it must start with http:// or https://'
  const authority = (m[2] as string).replace(/^.*@/, '')
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority)
  const host = hostPort?.[1] ?? ''
  const port = hostPort?.[2]
  if (host === '') return 'it has no host name'
  if (port !== undefined && port !== '') {
    if (!/^[0-9]+$/.test(port)) return `port ${JSON.stringify(port)} is not a number`
    if (Number(port) > 65535) return `port ${port} is out of range (0-65535)`
  }
  if (host.startsWith('[')) return `${host} is not an IPv6 address`
  const bad = /[^A-Za-z0-9.\-_~%]/.exec(host)
  if (bad !== null) return `the host name has a character a host name cannot have (${JSON.stringify(bad[0])})`
  if (/^[0-9.]+$/.test(host)) return `${host} is not an IPv4 address`
  return 'it does not parse as a URL'
}

function duration (report: Report, path: FieldPath, text: string | undefined, min: number): void {
  if (text === undefined) return
  const ms = parseDuration(text) as number
  if (ms < min) report(path, min === 1 ? `${text} is too short (at least 1ms)` : `${text} must not be negative`)
  else if (ms > MAX_DURATION_MS) report(path, `${text} is too long (at most ${formatDuration(MAX_DURATION_MS)})`)
}

function size (report: Report, path: FieldPath, text: string, max: number): void {
  const bytes = parseSize(text) as number
  if (bytes > max) report(path, `${text} is too large (at most ${max >= 1024 ** 2 ? `${max / 1024 ** 2}mb` : `${max}b`})`)
}

/**
 * Rules between fields of one vendor after defaults: reported on whichever of
 * the fields the vendor file (or else defaults.yaml) writes.
 */
export function mergedProblems (p: EffectivePolicyInput, vendor: SourceFile, defaults: SourceFile | undefined): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  const report = (paths: FieldPath[], message: string): void => {
    problems.push(problemOnWritten(vendor, defaults, paths, message, p.vendor))
  }
  const ms = (text: string): number => parseDuration(text) as number
  const t = p.timeouts
  // A read timeout longer than the whole call is a mistake; a connect timeout
  // longer than it is harmless (total cuts it) and the default 5s would make
  // every short total an error.
  if (ms(t.read) > ms(t.total)) {
    report([['timeouts', 'read'], ['timeouts', 'total']], `timeouts.read (${t.read}) is longer than timeouts.total (${t.total})`)
  }
  const sync = p.rateLimit.upstream.sync
  if (sync !== undefined && !p.rateLimit.buckets.some(b => b.name === sync)) {
    report([['rateLimit', 'upstream', 'sync']], `rateLimit.upstream.sync names no bucket of this vendor (${JSON.stringify(sync)})`)
  } else if (sync !== undefined && p.rateLimit.upstream.remainingHeader === undefined) {
    report([['rateLimit', 'upstream', 'sync'], ['rateLimit', 'upstream', 'remainingHeader']], 'rateLimit.upstream.sync needs rateLimit.upstream.remainingHeader: the header it reads')
  }
  const { initial, max } = p.retry.backoff
  if (ms(initial) > ms(max)) {
    report([['retry', 'backoff', 'initial'], ['retry', 'backoff', 'max']], `retry.backoff.initial (${initial}) is more than retry.backoff.max (${max})`)
  }
  const oauth2 = p.inject.oauth2
  if (oauth2 !== undefined) {
    const header = oauth2.header ?? OAUTH2_HEADER_DEFAULT
    const clash = Object.keys(p.inject.headers).find(h => h.toLowerCase() === header.toLowerCase())
    if (clash !== undefined) {
      report([['inject', 'headers', clash], ['inject', 'oauth2']], `inject.headers.${clash} is also set by inject.oauth2 (header ${header})`)
    }
  }
  // A client certificate without its key (or the reverse) could never be presented.
  if ((p.tls.cert === undefined) !== (p.tls.key === undefined)) {
    report([['tls', p.tls.cert === undefined ? 'key' : 'cert']], 'tls.cert and tls.key go together: set both or neither')
  }
  return problems
}
