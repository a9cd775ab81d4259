// Where one reference's value comes from. An environment variable is read once:
// the process environment does not change at runtime. A file is watched (see
// file-secret.ts). Both present the same small surface to vendor-credentials.ts.
import { readFileSync } from 'node:fs'
import type { SecretRef } from '../policy/secret-refs.js'

export interface SecretSource {
  readonly ref: SecretRef
  /** the current value; undefined while it cannot be had */
  readonly value: string | undefined
  /** the value served before the last change, still possibly in flight */
  readonly previous: string | undefined
  /** Cheap check for a change; true when `value` changed. */
  poll (now: number): boolean
  close (): void
}

export class EnvSecret implements SecretSource {
  readonly ref: SecretRef
  readonly value: string | undefined
  readonly previous = undefined

  constructor (ref: SecretRef & { kind: 'env' }, env: NodeJS.ProcessEnv) {
    this.ref = ref
    this.value = usable(env[ref.name])
  }

  poll (): boolean {
    return false
  }

  close (): void {}
}

/** A reference's value as it is now, read directly (for `validate --resolve-secrets`). */
export function resolveSecretRef (ref: SecretRef, env: NodeJS.ProcessEnv): string | undefined {
  return ref.kind === 'env' ? usable(env[ref.name]) : readSecretFile(ref.path)
}

/**
 * A file secret's value: its text without one trailing newline (what `echo`
 * and most editors add). Undefined when it cannot be read.
 */
export function readSecretFile (path: string): string | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  if (text.endsWith('\r\n')) text = text.slice(0, -2)
  else if (text.endsWith('\n')) text = text.slice(0, -1)
  return usable(text)
}

/**
 * An empty secret is never meant to be sent (an unset variable exported as
 * empty, a file caught mid-write): treat it as missing.
 */
function usable (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
