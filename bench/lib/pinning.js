// Optional CPU pinning (--pin, Linux with taskset and at least 2 CPUs): before
// each run the process under test gets CPU 1 to itself, and everything else
// (the harness with its load generator, the upstream, Redis, the idle
// proxies) shares CPU 0. The proxy then has exactly one core, its GC and
// libuv threads included, as in the figures.
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'

const TARGET_CPU = '1'
const OTHERS_CPU = '0'

export function canPin () {
  if (cpus().length < 2) return false
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Gives `targetPid` CPU 1, and `otherPids` and the harness CPU 0 (every thread
 * of each). wrk, started by the harness, inherits CPU 0.
 */
export function pinFor (targetPid, otherPids) {
  const others = new Set([process.pid, ...otherPids])
  others.delete(targetPid)
  setAffinity(targetPid, TARGET_CPU)
  for (const pid of others) setAffinity(pid, OTHERS_CPU)
}

function setAffinity (pid, cpu) {
  execFileSync('taskset', ['-a', '-pc', cpu, String(pid)], { stdio: 'ignore' })
}
