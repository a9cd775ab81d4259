// The first maxBodyBytes of a body on its way through the proxy, kept for the
// log line. The proxy forwards each chunk as it comes; push() only copies the
// part it still needs, synchronously, and never touches the chunk itself. The
// copy is its own allocation, so holding it never keeps a larger network
// buffer (or a shared pool slab) alive.

export class BodyCapture {
  readonly #maxBytes: number
  readonly #parts: Buffer[] = []
  #held = 0
  #seen = 0

  constructor (maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new TypeError(`maxBytes must be a non-negative integer, got ${String(maxBytes)}`)
    }
    this.#maxBytes = maxBytes
  }

  push (chunk: Buffer): void {
    this.#seen += chunk.length
    const room = this.#maxBytes - this.#held
    if (room <= 0 || chunk.length === 0) return
    const length = Math.min(room, chunk.length)
    const copy = Buffer.allocUnsafeSlow(length)
    chunk.copy(copy, 0, 0, length)
    this.#parts.push(copy)
    this.#held += length
  }

  /** every byte pushed so far, captured or not */
  get bytes (): number {
    return this.#seen
  }

  /** the first maxBytes bytes pushed, in a fresh buffer of exactly that size */
  result (): Buffer {
    const out = Buffer.allocUnsafeSlow(this.#held)
    let offset = 0
    for (const part of this.#parts) offset += part.copy(out, offset)
    return out
  }
}
