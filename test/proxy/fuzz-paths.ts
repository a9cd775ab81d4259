// Shared by the path fuzz tests: the pieces random paths are built from, the
// seed, and the oracle that says whether any reading of a path climbs above
// its base.

/** FUZZ_SEED replays a failure; otherwise a fixed seed, so CI runs are repeatable. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203)

/** Dots, separators and parameter marks in every spelling, and plain letters. */
export const PATH_PIECES = [
  '.', '..', '%2e', '%2E', '%252e', '%25252e',
  ';', '%3b', '%3B', '%253b', ';x=1', ';jsessionid=1',
  '/', '/', '/', '%2f', '%2F', '%252f',
  '\\', '%5c', '%5C', '%255c',
  'a', 'b', 'v1', 'x',
]

/** Each %XX as the byte it names, whatever is around it (servers decode leniently). */
function decodeOnce (s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

/** True when some segment `..` (after its `;parameters` are stripped) goes above the first segment's parent. */
function climbs (path: string): boolean {
  let depth = 0
  for (const seg of path.split(/[/\\]/)) {
    const semi = seg.indexOf(';')
    const name = semi === -1 ? seg : seg.slice(0, semi)
    if (name === '..') {
      if (--depth < 0) return true
    } else if (name !== '.' && name !== '') {
      depth++
    }
  }
  return false
}

/** The path as given, or decoded once, twice or three times, climbs above its base. */
export function climbsAboveBase (path: string): boolean {
  let p = path
  for (let round = 0; round <= 3; round++) {
    if (climbs(p)) return true
    p = decodeOnce(p)
  }
  return false
}
