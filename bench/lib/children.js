// Child processes of the harness: each server under test, the upstream and
// Redis run in their own process, so none shares an event loop with the load
// generator. Every child started here is stopped by stopAll(), also when the
// harness fails half-way.
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

const STARTUP_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 5_000
const running = new Set()

/**
 * Starts `command args` and resolves once `findUrl(line)` returns a URL for a
 * line of its stdout. With `stdoutFile`, stdout goes to that file (appending)
 * and the file is polled: a busy logger then never writes into a pipe the
 * harness has to read. With `ready` (a server that prints no URL: nginx,
 * haproxy), `ready(exited)` resolves with the URL once it answers, or undefined.
 */
export async function startChild ({ name, command, args, env, stdoutFile, findUrl, ready }) {
  let stdoutFd
  if (stdoutFile !== undefined) stdoutFd = openSync(stdoutFile, 'a')
  const child = spawn(command, args, {
    env,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  })
  if (stdoutFd !== undefined) closeSync(stdoutFd) // the child holds its own copy
  let stderr = ''
  child.stderr.on('data', (c) => { stderr = (stderr + c.toString()).slice(-4000) })
  child.once('error', (err) => { stderr += `\n${err.message}` }) // a missing binary: reported as "did not start"
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  const handle = {
    name,
    pid: child.pid,
    url: '',
    exited,
    stderr: () => stderr,
    stop: () => stopChild(child, exited, handle),
  }
  running.add(handle)

  if (stdoutFd === undefined && ready !== undefined) child.stdout.resume() // nothing reads it
  const url = ready !== undefined
    ? await ready(exited)
    : stdoutFile === undefined
      ? await urlFromPipe(child, findUrl)
      : await urlFromFile(stdoutFile, findUrl, exited)
  if (url === undefined) {
    await handle.stop()
    throw new Error(`${name} did not start: ${stderr.trim() || 'no listening line'}`)
  }
  handle.url = url
  return handle
}

export async function stopAll () {
  await Promise.allSettled([...running].map(h => h.stop()))
}

async function stopChild (child, exited, handle) {
  running.delete(handle)
  if (child.exitCode !== null || child.signalCode !== null) return exited
  child.kill('SIGTERM')
  // An unref'd timer: it must not keep the harness alive once the child is gone.
  const timeout = sleep(STOP_TIMEOUT_MS, 'timeout', { ref: false })
  if (await Promise.race([exited, timeout]) === 'timeout') {
    child.kill('SIGKILL')
  }
  return exited
}

function urlFromPipe (child, findUrl) {
  return new Promise(resolve => {
    let buf = ''
    const timer = setTimeout(() => resolve(undefined), STARTUP_TIMEOUT_MS)
    const done = (url) => {
      clearTimeout(timer)
      child.stdout.removeAllListeners('data')
      child.stdout.resume() // the servers write nothing more; keep the pipe drained anyway
      resolve(url)
    }
    child.stdout.on('data', (chunk) => {
      buf += chunk.toString()
      let nl
      while ((nl = buf.indexOf('\n')) !== -1) {
        const url = findUrl(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        if (url !== undefined) return done(url)
      }
    })
    child.once('exit', () => done(undefined))
  })
}

async function urlFromFile (path, findUrl, exited) {
  let gone = false
  exited.then(() => { gone = true })
  const end = Date.now() + STARTUP_TIMEOUT_MS
  while (Date.now() < end) {
    let text = ''
    try {
      text = readFileSync(path, 'utf8')
    } catch {}
    for (const line of text.split('\n')) {
      const url = findUrl(line)
      if (url !== undefined) return url
    }
    if (gone) return undefined
    await sleep(50)
  }
  return undefined
}

/** A finder for a JSON line carrying the URL in `field` (and, if given, `msg` equal to `msg`). */
export function jsonLineUrl (field, msg) {
  return (line) => {
    if (!line.startsWith('{')) return undefined
    try {
      const o = JSON.parse(line)
      if (msg !== undefined && o.msg !== msg) return undefined
      return typeof o[field] === 'string' ? o[field] : undefined
    } catch {
      return undefined
    }
  }
}
