// What the kernel knows about a process: CPU time (utime + stime from
// /proc/<pid>/stat) and memory (VmRSS, VmHWM from /proc/<pid>/status).
// Linux only; elsewhere every reading is null and the table says "n/a".
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second, the unit of utime and stime. */
const CLOCK_TICKS = clockTicks()

function clockTicks () {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** CPU time the process has used so far (user + system), in microseconds; null when unknown. */
export function cpuMicros (pid) {
  let text
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command name may hold spaces and parentheses: count fields after its closing one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of stat)
  return Number.isFinite(ticks) ? ticks * 1e6 / CLOCK_TICKS : null
}

/** Resident memory now and at its peak, in bytes; nulls when unknown. */
export function memory (pid) {
  let text
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return { rss: null, peakRss: null }
  }
  return { rss: kilobytes(text, 'VmRSS:'), peakRss: kilobytes(text, 'VmHWM:') }
}

function kilobytes (status, field) {
  const at = status.indexOf(field)
  if (at === -1) return null
  const kb = Number.parseInt(status.slice(at + field.length).trimStart(), 10)
  return Number.isFinite(kb) ? kb * 1024 : null
}
