// sluice's stdout goes to a file (a pipe read by the harness would put the
// harness's own work into the measurement). Between runs the harness counts
// what landed there, request lines and anything at warn or above, and empties
// the file so a long run does not fill the disk.
import { createReadStream, truncateSync } from 'node:fs'

const REQUEST = '"msg":"request"'
// A reload mid-run is a harness fault (the log once lived in the watched policy folder).
const RELOAD = '"msg":"policies reloaded"'
const PROBLEMS = ['"level":"warn"', '"level":"error"', '"level":"fatal"']
const KEEP_MESSAGES = 5
// --trace-gc lines: "[pid:0x...]   1234 ms: Scavenge 4.1 (5.0) -> ..." and "... ms: Mark-Compact ..."
const SCAVENGE = 'ms: Scavenge'
const MARK_COMPACT = 'ms: Mark-Compact'

/** Empties the log; the child appends (O_APPEND), so its next line starts the file again. */
export function truncateLog (path) {
  truncateSync(path, 0)
}

/**
 * Counts request lines and warn+ lines, keeping the first few distinct warn+
 * messages, and the --trace-gc lines (any process's stdout file).
 */
export async function scanLog (path) {
  let requestLines = 0
  let problemLines = 0
  let reloads = 0
  const gc = { scavenges: 0, markCompacts: 0 }
  const messages = new Set()
  let carry = ''
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = carry + chunk
    const lastNl = text.lastIndexOf('\n')
    carry = text.slice(lastNl + 1)
    const whole = text.slice(0, lastNl + 1)
    requestLines += occurrences(whole, REQUEST)
    reloads += occurrences(whole, RELOAD)
    gc.scavenges += occurrences(whole, SCAVENGE)
    gc.markCompacts += occurrences(whole, MARK_COMPACT)
    for (const marker of PROBLEMS) {
      let at = whole.indexOf(marker)
      while (at !== -1) {
        problemLines++
        if (messages.size < KEEP_MESSAGES) messages.add(messageOf(whole, at))
        at = whole.indexOf(marker, at + marker.length)
      }
    }
  }
  return { requestLines, problemLines, problemMessages: [...messages], gc, reloads }
}

function occurrences (text, marker) {
  let n = 0
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) n++
  return n
}

function messageOf (text, at) {
  const start = text.lastIndexOf('\n', at) + 1
  const end = text.indexOf('\n', at)
  try {
    const o = JSON.parse(text.slice(start, end))
    return `${o.level}: ${o.msg}${o.error !== undefined ? ` (${o.error})` : ''}`
  } catch {
    return text.slice(start, Math.min(end, start + 200))
  }
}
