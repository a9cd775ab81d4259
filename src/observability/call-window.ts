// Calls and errors of one vendor over the last minute, for the status page:
// sixty one-second slots, each reset when its second comes round again. A
// call adds to two numbers; nothing is allocated.
const SLOTS = 60

export class CallWindow {
  readonly #second = new Float64Array(SLOTS).fill(-1)
  readonly #calls = new Uint32Array(SLOTS)
  readonly #errors = new Uint32Array(SLOTS)
  readonly #since: number

  constructor (nowMs: number = Date.now()) {
    this.#since = Math.floor(nowMs / 1000)
  }

  /** One call answered; `failed` when its status was 5xx. */
  record (failed: boolean, nowMs: number): void {
    const second = Math.floor(nowMs / 1000)
    const i = second % SLOTS
    if (this.#second[i] !== second) {
      this.#second[i] = second
      this.#calls[i] = 0
      this.#errors[i] = 0
    }
    this.#calls[i]!++
    if (failed) this.#errors[i]!++
  }

  /** Calls per second and the share of them that failed, over the last minute (or since start, if younger). */
  summary (nowMs: number): { calls: number, perSecond: number, errorShare: number } {
    const now = Math.floor(nowMs / 1000)
    let calls = 0
    let errors = 0
    for (let i = 0; i < SLOTS; i++) {
      const second = this.#second[i] as number
      if (second > now - SLOTS && second <= now) {
        calls += this.#calls[i] as number
        errors += this.#errors[i] as number
      }
    }
    const span = Math.max(1, Math.min(SLOTS, now - this.#since + 1))
    return { calls, perSecond: calls / span, errorShare: calls === 0 ? 0 : errors / calls }
  }
}
