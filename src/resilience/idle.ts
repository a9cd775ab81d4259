// Waiting for work in flight to end, up to a limit: a drain waits like this
// for the calls in flight (runtime) and for the job attempts in hand (jobs).

/** True once `register`'s callback is called, false after timeoutMs, whichever comes first. */
export async function idleWithin (register: (onIdle: () => void) => void, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const idle = await Promise.race([
    new Promise<boolean>(resolve => { register(() => resolve(true)) }),
    new Promise<boolean>(resolve => { timer = setTimeout(resolve, timeoutMs, false) }),
  ])
  clearTimeout(timer)
  return idle
}
