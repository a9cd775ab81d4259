// A loopback port whose accept queue is full, so a new connection never
// completes: the only honest way to see a connect timeout without leaving the
// machine. A listener with backlog 0 that never accepts holds one queued
// connection; further SYNs are dropped and the dialler waits.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { requireBinary } from './binaries.js'

const SCRIPT = `
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`

export interface Blackhole {
  port: number
  close (): void
}

export async function startBlackhole (): Promise<Blackhole> {
  const child: ChildProcess = spawn(requireBinary('python3', 'install Python 3: apt-get install python3'), ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (c: Buffer) => resolve(Number(c.toString().trim())))
    child.once('error', reject)
  })
  // Fill the accept queue.
  const fillers: Socket[] = []
  for (let i = 0; i < 3; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
  }
  await new Promise(resolve => setTimeout(resolve, 100))
  return {
    port,
    close () {
      for (const s of fillers) s.destroy()
      child.stdin?.end()
      child.kill()
    },
  }
}
