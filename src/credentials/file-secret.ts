// A `${file:...}` secret that follows rotation without a restart.
//
// Kubernetes updates a mounted Secret by writing a new timestamped directory and
// atomically renaming a `..data` symlink over the old one; `key` itself is a
// symlink through `..data` and never changes. A watch on the file's inode would
// keep pointing at the old directory, so the parent directory is watched
// instead, and any event there marks the value dirty. Events can be missed
// (overlay filesystems, a watch set up before the directory existed), so a use
// also re-stats the resolved path at most once per RECHECK_MS and compares
// realpath, inode, size and mtime. The file is read only when those change.
//
// While a new value cannot be read (a swap caught midway, an empty file caught
// mid-write), the last good value keeps being served.
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { readSecretFile, type SecretSource } from './secret-source.js'
import type { SecretRef } from '../policy/secret-refs.js'

export const RECHECK_MS = 1000

/** resolved: first value; rotated: a new value; unreadable: the file went away, the last value is kept */
export type FileSecretEvent = 'resolved' | 'rotated' | 'unreadable'

export interface FileSecretOptions {
  /** told of each transition, for the log; never given the value */
  notify: (event: FileSecretEvent) => void
  /** watch the parent directory (default true); off, only the re-stat finds changes */
  watch?: boolean
}

export class FileSecret implements SecretSource {
  readonly ref: SecretRef & { kind: 'file' }
  value: string | undefined
  previous: string | undefined

  readonly #dir: string
  readonly #notify: (event: FileSecretEvent) => void
  readonly #watch: boolean
  #watcher: FSWatcher | undefined
  #dirty = true
  #checkedAt = 0
  #unreadableTold = false
  #closed = false
  // What the current value was read from; a change in any of these means a re-read.
  #real = ''
  #ino = -1
  #size = -1
  #mtimeMs = -1

  constructor (ref: SecretRef & { kind: 'file' }, now: number, opts: FileSecretOptions) {
    this.ref = ref
    this.#dir = dirname(ref.path)
    this.#notify = opts.notify
    this.#watch = opts.watch ?? true
    this.#check(now)
  }

  poll (now: number): boolean {
    if (!this.#dirty && now - this.#checkedAt < RECHECK_MS) return false
    return this.#check(now)
  }

  close (): void {
    this.#closed = true
    this.#watcher?.close()
    this.#watcher = undefined
  }

  #check (now: number): boolean {
    this.#dirty = false
    this.#checkedAt = now
    if (this.#watcher === undefined) this.#startWatch()

    let real: string
    let ino: number, size: number, mtimeMs: number
    try {
      real = realpathSync(this.ref.path)
      const st = statSync(real)
      ino = st.ino
      size = st.size
      mtimeMs = st.mtimeMs
    } catch {
      this.#unreadable()
      return false
    }
    if (real === this.#real && ino === this.#ino && size === this.#size && mtimeMs === this.#mtimeMs) return false

    const value = readSecretFile(real)
    if (value === undefined) {
      // The signature is not recorded, so the next check reads again.
      this.#unreadable()
      return false
    }
    this.#real = real
    this.#ino = ino
    this.#size = size
    this.#mtimeMs = mtimeMs
    this.#unreadableTold = false
    if (value === this.value) return false
    const first = this.value === undefined
    this.previous = this.value
    this.value = value
    this.#notify(first ? 'resolved' : 'rotated')
    return true
  }

  #unreadable (): void {
    if (this.value === undefined || this.#unreadableTold) return
    this.#unreadableTold = true
    this.#notify('unreadable')
  }

  #startWatch (): void {
    if (!this.#watch || this.#closed) return
    try {
      // Not persistent: a secret watch must never keep the process alive.
      const watcher = watch(this.#dir, { persistent: false }, () => { this.#dirty = true })
      watcher.on('error', () => {
        // The directory went away (an unmounted volume): fall back to re-stat,
        // and try to watch again on the next check.
        watcher.close()
        if (this.#watcher === watcher) this.#watcher = undefined
        this.#dirty = true
      })
      this.#watcher = watcher
    } catch {
      // The directory does not exist yet; the next check tries again.
    }
  }
}
