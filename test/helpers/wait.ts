// Waiting in tests, one way: poll a condition with a deadline (never a fixed
// sleep standing in for an event), sleep where a test must let real time pass,
// and a free port on 127.0.0.1.
import { createServer } from 'node:net'

export interface EventuallyOptions {
  /** the longest to wait, ms (default 3000) */
  timeout?: number
  /** what is awaited, for the error when it never comes */
  what?: string
  /** ms between checks (default 10) */
  every?: number
}

/** Resolves once `check` returns true; rejects after `timeout`. A check that throws ends the wait with its error. */
export async function eventually (check: () => boolean | Promise<boolean>, opts: EventuallyOptions = {}): Promise<void> {
  const timeout = opts.timeout ?? 3000
  const end = Date.now() + timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${opts.what ?? 'a condition'}`)
    await sleep(opts.every ?? 10)
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** A port on 127.0.0.1 nothing listens on (bound once, then released). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}
