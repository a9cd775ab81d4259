// Where a secret could escape a running sluice, gathered as text, and the
// check that none of the given values appears in it, as written or in the
// forms a log or a URL would carry it (percent-encoded, JSON-escaped).
import { expect } from 'vitest'
import { request } from 'undici'
import type { TestSluice } from '../helpers/sluice.js'

/** Every log line so far, GET /policies and GET /metrics, as one text. */
export async function exposedText (s: TestSluice): Promise<string> {
  const policies = await request(`${s.adminUrl}/policies`)
  const metrics = await request(`${s.adminUrl}/metrics`)
  return [s.logText(), await policies.body.text(), await metrics.body.text()].join('\n')
}

/** The spellings of a value a leak could take. */
export function spellings (value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])]
}

/** Fails naming the label of the first value found, never the value itself. */
export function expectNone (text: string, secrets: Record<string, string>): void {
  for (const [label, value] of Object.entries(secrets)) {
    const found = spellings(value).some(form => text.includes(form))
    expect(found, `${label} leaked`).toBe(false)
  }
}
