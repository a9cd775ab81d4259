// A policy diff as `sluice diff` prints it: text lines, a Markdown block for a
// pull-request comment, or JSON for tools.
import { riskCount, type PolicyChange, type VendorDiff } from './diff.js'

export type DiffFormat = 'text' | 'markdown' | 'json'

export const DIFF_FORMATS: readonly DiffFormat[] = ['text', 'markdown', 'json']

export function formatDiff (diffs: readonly VendorDiff[], format: DiffFormat): string {
  if (format === 'json') {
    const changes = diffs.reduce((n, d) => n + d.changes.length, 0)
    // Every change has the same keys: an unset before/after/risk is null.
    return JSON.stringify({ changes, risks: riskCount(diffs), vendors: diffs }, (_, v: unknown) => v === undefined ? null : v, 2) + '\n'
  }
  if (format === 'markdown') return markdown(diffs)
  if (diffs.length === 0) return 'no change in the effective policies\n'
  return diffs.flatMap(d => d.changes.map(c => `${d.vendor}: ${sentence(c)}\n`)).join('')
}

/** `risk: bucket "burst" refill 25/s → 50/s (a limit raised)` */
function sentence (c: PolicyChange): string {
  return c.risk === undefined ? c.text : `risk: ${c.text} (${c.risk})`
}

function markdown (diffs: readonly VendorDiff[]): string {
  const changes = diffs.reduce((n, d) => n + d.changes.length, 0)
  const risks = riskCount(diffs)
  const lines = ['### sluice policy diff', '']
  if (changes === 0) {
    lines.push('No change in the effective policies.')
    return lines.join('\n') + '\n'
  }
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  lines.push(risks === 0 ? `${plural(changes, 'change')}, no risk.` : `**${plural(risks, 'risk')}** in ${plural(changes, 'change')}.`)
  for (const d of diffs) {
    lines.push('', `#### ${escape(d.vendor)}`, '')
    for (const c of d.changes) {
      lines.push(c.risk === undefined ? `- ${escape(c.text)}` : `- :warning: **risk:** ${escape(c.text)} (${escape(c.risk)})`)
    }
  }
  return lines.join('\n') + '\n'
}

/** Policy values (globs, header names) read literally, never as Markdown or HTML. */
function escape (text: string): string {
  return text.replace(/[\\`*_{}[\]<>|~]/g, c => `\\${c}`)
}
