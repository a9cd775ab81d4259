// The forwarded path must never leave the vendor's base path.
// A dot-segment in any spelling (`..`, `%2e%2e`, `.%2E`, double-encoded
// `%252e`), a backslash in any spelling, or a NUL is refused rather than
// normalised: no vendor API needs one, and a proxy that normalises differently
// from the vendor is how path-confusion bugs are born. An encoded slash alone
// (`group%2Fproject`, as GitLab uses) passes; once decoded it only matters if it
// forms a dot-segment, which is checked on the decoded form.
// Tomcat, Jetty and Spring strip `;parameters` from a segment before resolving
// it, so `..;x`, `..;jsessionid=1` and `..%3b` are `..` to them: a segment is
// judged by its name, the part before its first `;`, in every decoding round.

/** Splits "/a/b?x=1" into the path and the query (with its '?'), without allocating when there is no query. */
export function splitQuery (rest: string): [string, string] {
  const q = rest.indexOf('?')
  return q === -1 ? [rest, ''] : [rest.slice(0, q), rest.slice(q)]
}

/** True when the path (no query) stays below the base path. */
export function isSafePath (path: string): boolean {
  // Fast path: nothing encoded, no backslash, no segment starting with a dot.
  if (path.indexOf('%') === -1 && path.indexOf('\\') === -1 && path.indexOf('/.') === -1) return true
  let decoded = path
  // Decode up to three times so double and triple encodings are seen as the
  // vendor (or a layer in front of it) might see them.
  for (let round = 0; round < 3; round++) {
    if (!checkSegments(decoded)) return false
    if (decoded.indexOf('%') === -1) return true
    let next: string
    try {
      next = decodeURIComponent(decoded)
    } catch {
      return false
    }
    if (next === decoded) return true
    decoded = next
  }
  return checkSegments(decoded)
}

function checkSegments (p: string): boolean {
  if (p.indexOf('\\') !== -1 || p.indexOf('\0') !== -1) return false
  const lower = p.toLowerCase()
  if (lower.indexOf('%5c') !== -1 || lower.indexOf('%00') !== -1) return false
  for (const seg of p.split('/')) {
    const semi = seg.indexOf(';')
    const name = semi === -1 ? seg : seg.slice(0, semi)
    if (name === '.' || name === '..') return false
    // dot-segments spelled with encoded dots, seen before decoding
    const s = name.toLowerCase()
    if (s === '%2e' || s === '%2e%2e' || s === '.%2e' || s === '%2e.') return false
  }
  return true
}
