// The units a policy is written in, and back. Durations become milliseconds,
// sizes bytes (1kb = 1024 bytes), rates tokens per millisecond, percents a share
// of 1. Parsing is exact for decimals ("1.1s" is 1100, not 1100.0000000000002):
// the digits are read as one integer and divided once.

const MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const BYTES = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const
const PER = {
  s: MS.s,
  sec: MS.s,
  second: MS.s,
  m: MS.m,
  min: MS.m,
  minute: MS.m,
  h: MS.h,
  hour: MS.h,
  d: MS.d,
  day: MS.d,
} as const

const DURATION = /^([0-9]+)(?:\.([0-9]+))?(ms|s|m|h|d)$/
const SIZE = /^([0-9]+)(?:\.([0-9]+))?(b|kb|mb|gb)$/
const RATE = /^([0-9]+)(?:\.([0-9]+))?\/(s|sec|second|m|min|minute|h|hour|d|day)$/
const PERCENT = /^([0-9]+)(?:\.([0-9]+))?%$/

/** "12.5" as 125 over 10: multiply the integer first, divide once. */
function exact (whole: string, fraction: string | undefined, multiply: number, divide: number): number {
  const digits = fraction ?? ''
  return Number(whole + digits) * multiply / (divide * 10 ** digits.length)
}

/** "250ms", "5s", "2m", "1h", "1d" -> milliseconds; undefined when malformed. */
export function parseDuration (text: string): number | undefined {
  const m = DURATION.exec(text)
  if (m === null) return undefined
  return exact(m[1] as string, m[2], MS[m[3] as keyof typeof MS], 1)
}

/** "512kb", "10mb" -> whole bytes; undefined when malformed. */
export function parseSize (text: string): number | undefined {
  const m = SIZE.exec(text)
  if (m === null) return undefined
  return Math.round(exact(m[1] as string, m[2], BYTES[m[3] as keyof typeof BYTES], 1))
}

/** "25/s", "600/min", "5000/h", "100000/day" -> tokens per millisecond; undefined when malformed. */
export function parseRate (text: string): number | undefined {
  const m = RATE.exec(text)
  if (m === null) return undefined
  return exact(m[1] as string, m[2], 1, PER[m[3] as keyof typeof PER])
}

/** "10%" -> 0.1; undefined when malformed. */
export function parsePercent (text: string): number | undefined {
  const m = PERCENT.exec(text)
  if (m === null) return undefined
  return exact(m[1] as string, m[2], 1, 100)
}

/** Milliseconds back to the largest unit that divides them: 60000 -> "1m", 1500 -> "1500ms". */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= MS[unit] && ms % MS[unit] === 0) return `${ms / MS[unit]}${unit}`
  }
  return `${ms}ms`
}

/** Bytes back to the largest unit that divides them: 10485760 -> "10mb". */
export function formatSize (bytes: number): string {
  for (const unit of ['gb', 'mb', 'kb'] as const) {
    if (bytes >= BYTES[unit] && bytes % BYTES[unit] === 0) return `${bytes / BYTES[unit]}${unit}`
  }
  return `${bytes}b`
}

/** A share back to a percent: 0.2 -> "20%" (rounded to hide binary fractions). */
export function formatPercent (share: number): string {
  return `${Number((share * 100).toPrecision(12))}%`
}
