// The built CLI as a child process, and golden files for its exact output.
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import { CLI } from './sluice.js'

const exec = promisify(execFile)

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs `sluice ...args` to its end, in the repository folder unless `cwd` says otherwise. */
export async function runCli (args: string[], opts: { env?: Record<string, string>, cwd?: string } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...opts.env },
      cwd: opts.cwd ?? process.cwd(),
      maxBuffer: 64 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/**
 * The text must equal the golden file byte for byte. `UPDATE_GOLDEN=1` writes
 * the file instead (then read the diff before committing it).
 */
export function expectGolden (actual: string, golden: URL): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, actual)
  expect(actual).toBe(readFileSync(golden, 'utf8'))
}
