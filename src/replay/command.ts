// `sluice replay`: a request log through one or two policy sets, side by side.
import type { Writable } from 'node:stream'
import type { PolicySet } from '../policy/types.js'
import { readRequestLog, type ReadStats } from './log-reader.js'
import { Simulation, type BucketStats, type VendorStats } from './simulate.js'

export type ReplayFormat = 'text' | 'json'
export const REPLAY_FORMATS: readonly ReplayFormat[] = ['text', 'json']

export interface ReplayOptions {
  sides: Array<{ label: string, set: PolicySet }>
  /** a file, or - for stdin */
  log: string
  format: ReplayFormat
  out: Writable
  err: Writable
}

export async function runReplay (opts: ReplayOptions): Promise<number> {
  const sims = opts.sides.map(s => new Simulation(s.set))
  const lag = Math.max(...sims.map(s => s.longestCallMs))
  let read: ReadStats
  try {
    read = await readRequestLog(opts.log, lag, call => { for (const sim of sims) sim.replay(call) })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    opts.err.write(`${opts.log}: cannot read: ${code === 'ENOENT' ? 'no such file' : code ?? (err as Error).message}\n`)
    return 1
  }
  const report = {
    lines: read.lines,
    calls: read.calls,
    skipped: read.skipped,
    sides: opts.sides.map((s, i) => ({ label: s.label, noRoute: (sims[i] as Simulation).noRoute, vendors: (sims[i] as Simulation).vendors.map(v => vendorJson(v.stats)) })),
  }
  opts.out.write(opts.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : text(report))
  return 0
}

const P = [0.5, 0.99] as const

function counts (s: VendorStats | BucketStats): { calls: number, allowed: number, queued: number, waitP50Ms: number | null, waitP99Ms: number | null, refused: number } {
  const [p50, p99] = s.waits.percentiles(P)
  return { calls: s.calls, allowed: s.allowed, queued: s.queued, waitP50Ms: p50 ?? null, waitP99Ms: p99 ?? null, refused: s.refused }
}

function vendorJson (s: VendorStats): Record<string, unknown> {
  return { vendor: s.vendor, mode: s.mode, ...counts(s), notAllowed: s.notAllowed, buckets: s.buckets.map(b => ({ bucket: b.name, ...counts(b) })) }
}

type Report = { lines: number, calls: number, skipped: number, sides: Array<{ label: string, noRoute: number, vendors: Array<Record<string, unknown>> }> }

const HEAD = ['vendor', 'bucket', 'calls', 'allowed', 'queued', 'wait p50', 'wait p99', 'refused (429)', 'not allowed (403)']

function text (r: Report): string {
  const compare = r.sides.length > 1
  const head = compare ? ['policies', ...HEAD] : HEAD
  const rows: string[][] = []
  // Rows of one vendor and bucket from each side next to each other.
  const vendors = [...new Set(r.sides.flatMap(s => s.vendors.map(v => v.vendor as string)))].sort()
  for (const name of vendors) {
    const keyed = r.sides.map(s => s.vendors.find(v => v.vendor === name))
    const bucketNames = [...new Set(keyed.flatMap(v => ((v?.buckets ?? []) as Array<{ bucket: string }>).map(b => b.bucket)))]
    r.sides.forEach((side, i) => {
      const v = keyed[i]
      const label = compare ? [side.label] : []
      if (v === undefined) rows.push([...label, name, '(not in this set)'])
      else rows.push([...label, name, v.mode === 'shadow' ? '(all, shadow)' : '(all)', ...cells(v), String(v.notAllowed)])
    })
    for (const bucket of bucketNames) {
      r.sides.forEach((side, i) => {
        const b = ((keyed[i]?.buckets ?? []) as Array<Record<string, unknown>>).find(x => x.bucket === bucket)
        const label = compare ? [side.label] : []
        rows.push(b === undefined ? [...label, name, `${bucket} (not in this set)`] : [...label, name, bucket, ...cells(b), ''])
      })
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(row => (row[i] ?? '').length)))
  const fmt = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd() + '\n'
  let out = `${plural(r.calls, 'call')} replayed (${plural(r.lines, 'line')} read${r.skipped > 0 ? `, ${plural(r.skipped, 'unreadable request line')} skipped` : ''})\n`
  for (const s of r.sides) if (s.noRoute > 0) out += `${compare ? `${s.label}: ` : ''}${plural(s.noRoute, 'call')} ${s.noRoute === 1 ? 'matches' : 'match'} no vendor (404 no_route)\n`
  if (r.sides.some(s => s.vendors.some(v => v.mode === 'shadow'))) out += 'shadow: the counts are what enforcing would do; in shadow mode every call goes through\n'
  return out + '\n' + fmt(head) + rows.map(fmt).join('')
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function cells (s: Record<string, unknown>): string[] {
  return [String(s.calls), String(s.allowed), String(s.queued), ms(s.waitP50Ms), ms(s.waitP99Ms), String(s.refused)]
}

function ms (v: unknown): string {
  if (typeof v !== 'number') return '-'
  return v < 1000 ? `${Math.round(v)}ms` : `${(v / 1000).toFixed(1)}s`
}
