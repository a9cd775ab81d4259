// Settings that are valid but risky: `sluice validate` prints them as warnings
// (and exits 0 when there is nothing else); a running sluice loads them as written.
import { formatDuration } from './units.js'
import { problemOnWritten, type FieldPath, type SourceFile } from './source.js'
import type { PolicyProblem, VendorPolicy } from './types.js'

export function policyWarnings (p: VendorPolicy, vendor: SourceFile, defaults: SourceFile | undefined): PolicyProblem[] {
  const warnings: PolicyProblem[] = []
  const warn = (paths: FieldPath[], message: string): void => {
    warnings.push({ ...problemOnWritten(vendor, defaults, paths, message, p.vendor), severity: 'warning' })
  }

  const { retry, idempotency } = p
  const postAllowed = p.routes.allow === undefined || p.routes.allow.some(r => r.methods === undefined || r.methods.has('POST'))
  if (retry.attempts > 1 && !retry.idempotentOnly && postAllowed && !idempotency.generate.has('POST')) {
    warn([['retry', 'idempotentOnly'], ['retry', 'attempts'], ['idempotency', 'generate']],
      `retry.idempotentOnly is false and idempotency.generate has no POST: a POST without an ${idempotency.header} header may be sent up to ${retry.attempts} times`)
  }

  p.rateLimit.buckets.forEach((b, i) => {
    const at: FieldPath = ['rateLimit', 'buckets', i]
    if (b.onLimit !== 'queue') return
    if (b.maxWaitMs > p.timeouts.totalMs) {
      warn([[...at, 'maxWait'], ['timeouts', 'total']],
        `rateLimit.buckets[${i}].maxWait (${formatDuration(b.maxWaitMs)}) is longer than timeouts.total (${formatDuration(p.timeouts.totalMs)}): no call can wait past its deadline, so the wait is cut at ${formatDuration(p.timeouts.totalMs)}`)
    }
    // A bucket that never refills is an error already.
    const tokenMs = b.refillPerMs > 0 ? 1 / b.refillPerMs : 0
    if (tokenMs > Math.min(b.maxWaitMs, p.timeouts.totalMs)) {
      warn([[...at, 'refill'], [...at, 'maxWait']],
        `rateLimit.buckets[${i}] ("${b.name}"): one token takes ${roughly(tokenMs)} to refill (${b.refill}), longer than a call may wait (${formatDuration(Math.min(b.maxWaitMs, p.timeouts.totalMs))}): once empty, every queued call is refused as if onLimit were reject`)
    }
  })

  if (p.network.allowPrivate && !p.ipLiteral) {
    warn([['network', 'allowPrivate']], `network.allowPrivate is true: ${p.hostname} may resolve to private, loopback or link-local addresses (a DNS answer could point sluice at an internal service)`)
  }
  return warnings
}

/** 514286 ms as "8.6m": a length of time to read, not to write back into a policy. */
function roughly (ms: number): string {
  const exact = formatDuration(Math.round(ms))
  if (Number.isInteger(ms) && !exact.endsWith('ms')) return exact
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size) return `${Number((ms / size).toFixed(1))}${unit}`
  }
  return `${Math.round(ms)}ms`
}
