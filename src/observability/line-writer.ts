// Writes one JSON line's pieces straight into a buffer (a log batch, see
// LineBatcher.lineBuffer), for the line written on every call: no string is
// built for it. The bytes are exactly those of the same pieces concatenated
// into a string and encoded as UTF-8.
//
// Plain ASCII that needs no escaping (nearly every id, method, path and code)
// is copied a char at a time in JS, cheaper than a native write per piece; a
// string with anything else goes through JSON.stringify and a UTF-8 write.
// When a piece does not fit, the line is abandoned (end() says so) and the
// caller writes it again where there is room.

/** below this, a whole number or tenths are written digit by digit (k/10 for k < 1e15 prints as k's digits with a dot) */
const DIGITS_BELOW = 1e14
const INT31 = 0x7fffffff

/** A piece of the line's own, known to be ASCII that needs no escaping (a key, a literal), as bytes once. */
export function literal (s: string): Uint8Array {
  return Uint8Array.from(s, c => c.charCodeAt(0) & 0x7f)
}

export class LineWriter {
  #buf: Buffer = Buffer.alloc(0)
  #off = 0
  /** a piece did not fit: nothing written after it counts */
  #over = false

  /** Starts a line in `buf` at `off`, to be written up to the buffer's end. */
  begin (buf: Buffer, off: number): void {
    this.#buf = buf
    this.#off = off
    this.#over = false
  }

  /** The offset just past the line, or -1 when it did not fit. */
  end (): number {
    return this.#over ? -1 : this.#off
  }

  /** A literal (see literal()): copied from bytes, cheaper than from a string's chars. */
  bytes (b: Uint8Array): void {
    const n = b.length
    if (!this.#fits(n)) return
    const buf = this.#buf
    let off = this.#off
    for (let i = 0; i < n; i++) buf[off++] = b[i] as number
    this.#off = off
  }

  /** `s` as a JSON string, quotes included: as JSON.stringify(s). */
  string (s: string): void {
    const n = s.length
    if (!this.#fits(n + 2)) return
    const buf = this.#buf
    const start = this.#off
    let off = start
    buf[off++] = 0x22
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      // a control char, '"', '\' or beyond ASCII: JSON.stringify knows best
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) {
        this.#off = start
        this.#utf8(JSON.stringify(s))
        return
      }
      buf[off++] = c
    }
    buf[off++] = 0x22
    this.#off = off
  }

  /** `s` as it is, in UTF-8 (a value the caller knows needs no escaping). */
  raw (s: string): void {
    const n = s.length
    if (!this.#fits(n)) return
    const buf = this.#buf
    const start = this.#off
    let off = start
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c > 0x7f) {
        this.#off = start
        this.#utf8(s)
        return
      }
      buf[off++] = c
    }
    this.#off = off
  }

  /** `v` as string concatenation writes JSON.stringify(v) (`undefined` for what JSON cannot hold). */
  json (v: unknown): void {
    this.raw(String(JSON.stringify(v)))
  }

  /** `n` as String(n) writes it. */
  number (n: number): void {
    if (n >= 0 && n < DIGITS_BELOW) {
      if (Number.isInteger(n)) {
        this.#digits(n, -1)
        return
      }
      // the double nearest to k/10 prints as k's digits with a dot before the last
      const k = Math.round(n * 10)
      if (k / 10 === n) {
        const whole = Math.floor(k / 10)
        this.#digits(whole, k - whole * 10)
        return
      }
    }
    this.raw(String(n))
  }

  /** Room for `n` more bytes; else the line is over (nothing after counts). */
  #fits (n: number): boolean {
    if (this.#off + n <= this.#buf.length) return true
    this.#over = true
    return false
  }

  /** `whole`'s digits, then '.' and `tenth` unless it is -1; in int32 arithmetic, far cheaper than a double's. */
  #digits (whole: number, tenth: number): void {
    let hi = whole
    let lo = -1
    if (whole > INT31) {
      hi = Math.floor(whole / 1e9)
      lo = whole - hi * 1e9
    }
    let digits = 1
    for (let p = 10; p <= hi; p *= 10) digits++
    const buf = this.#buf
    let off = this.#off
    if (off + digits + (lo < 0 ? 0 : 9) + (tenth < 0 ? 0 : 2) > buf.length) {
      this.#over = true
      return
    }
    let v = hi | 0
    for (let i = off + digits - 1; i >= off; i--) {
      const q = (v / 10) | 0
      buf[i] = 0x30 + v - q * 10
      v = q
    }
    off += digits
    if (lo >= 0) {
      v = lo | 0
      for (let i = off + 8; i >= off; i--) {
        const q = (v / 10) | 0
        buf[i] = 0x30 + v - q * 10
        v = q
      }
      off += 9
    }
    if (tenth >= 0) {
      buf[off++] = 0x2e
      buf[off++] = 0x30 + tenth
    }
    this.#off = off
  }

  #utf8 (s: string): void {
    const buf = this.#buf
    const off = this.#off
    const room = buf.length - off
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: the exact count only when it might not fit
    if (s.length * 3 > room && Buffer.byteLength(s) > room) {
      this.#over = true
      return
    }
    this.#off = off + buf.write(s, off, 'utf8')
  }
}
