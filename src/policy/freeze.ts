// Policies are frozen once built, so no call can change what the next one sees.

function readOnly (): never {
  throw new TypeError('a policy is read-only')
}

/**
 * Freezes plain objects and arrays, and makes Sets refuse changes (freezing a
 * Set does not). RegExps are left alone: a frozen RegExp drops off V8's fast
 * path, and a non-global one is never written to.
 */
export function deepFreeze<T> (value: T): T {
  if (typeof value !== 'object' || value === null || value instanceof RegExp || Object.isFrozen(value)) return value
  if (value instanceof Set) {
    for (const method of ['add', 'delete', 'clear']) Object.defineProperty(value, method, { value: readOnly })
  } else {
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return Object.freeze(value)
}
