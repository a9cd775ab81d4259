// A directory laid out and updated the way the kubelet's atomic writer does it:
//   dir/..2024_01_01_00_00_00.1/key    the files of one version
//   dir/..data -> ..2024_...           swapped by rename(2) of a new symlink
//   dir/key -> ..data/key              never changes
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

export function k8sSecretDir (dir: string) {
  let version = 0
  return {
    dir,
    /** Publishes a new version of every key atomically, then removes the old version. */
    publish (files: Record<string, string>): void {
      version++
      const ts = `..2024_01_01_00_00_00.${version}`
      mkdirSync(join(dir, ts), { recursive: true })
      for (const [key, text] of Object.entries(files)) writeFileSync(join(dir, ts, key), text)
      const data = join(dir, '..data')
      const old = existsSync(data) ? readlinkSync(data) : undefined
      symlinkSync(ts, join(dir, '..data_tmp'))
      renameSync(join(dir, '..data_tmp'), data)
      for (const key of Object.keys(files)) {
        if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key))
      }
      if (old !== undefined) rmSync(join(dir, old), { recursive: true, force: true })
    },
  }
}
