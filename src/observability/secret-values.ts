// The injected secret values themselves (API keys, OAuth tokens, passwords read
// from ${env:...} and ${file:...}). They rotate, so they cannot be compiled into
// the policy's scrubber: each public scrub call refreshes them once from the
// provider (not once per string scanned), and the sorted copy is rebuilt only
// when the provider hands back a different array.

export const SECRET_MARKER = '[REDACTED:secret]'

/** Shorter prefixes of a secret cut off at the end of a truncated body carry too little to matter. */
const MIN_PARTIAL = 3

export interface SecretValues {
  /** ask the provider for the current values; call once per scrub call */
  refresh (): void
  /** every occurrence of a current secret replaced by SECRET_MARKER */
  replace (s: string): string
  /** `s` without a trailing beginning of a secret (a body cut in the middle of one) */
  dropPartialTail (s: string): string
}

export function compileSecretValues (provider: (() => readonly string[]) | undefined): SecretValues {
  let seen: readonly string[] | undefined
  let longestFirst: string[] = []

  return {
    refresh () {
      if (provider === undefined) return
      let values: readonly string[]
      try {
        values = provider()
      } catch {
        return // keep scrubbing the last values known rather than none
      }
      if (values === seen) return
      seen = values
      // Longest first, so a secret that contains another is replaced whole.
      longestFirst = values.filter(v => typeof v === 'string' && v.length > 0).sort((a, b) => b.length - a.length)
    },
    replace (s) {
      for (const secret of longestFirst) {
        if (s.includes(secret)) s = s.replaceAll(secret, SECRET_MARKER)
      }
      return s
    },
    dropPartialTail (s) {
      const last = s.charCodeAt(s.length - 1)
      for (const secret of longestFirst) {
        for (let k = Math.min(secret.length - 1, s.length); k >= MIN_PARTIAL; k--) {
          if (secret.charCodeAt(k - 1) === last && s.endsWith(secret.slice(0, k))) return s.slice(0, s.length - k)
        }
      }
      return s
    },
  }
}
