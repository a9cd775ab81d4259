// The benchmark is a tool, not a test: these runs only prove that each of its
// modes still starts every process, drives it and reports. They never assert
// on speed.
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const RUN = new URL('../../bench/run.js', import.meta.url).pathname
const ROOT = new URL('../..', import.meta.url).pathname
const LABELS = ['direct (upstream)', 'floor: node:http + undici, nothing else', 'baseline @fastify/http-proxy', 'sluice passthrough', 'sluice full policy',
  'sluice full policy, tracing 100 %', 'sluice full policy, tracing 1 %',
  'floor, HTTPS upstream (HTTP/1.1 keep-alive)', 'sluice full policy, HTTPS upstream (HTTP/1.1 keep-alive)', 'sluice full policy, HTTPS upstream over h2',
  'sluice full policy, cost-weighted']
const out = mkdtempSync(join(tmpdir(), 'sluice-bench-smoke-'))

afterAll(() => rmSync(out, { recursive: true, force: true }))

function runBench (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, '--smoke', '--out', out, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The calls/s cell of a target's row in the report's first table. */
function callsPerSec (report: string, label: string): number {
  const row = report.split('\n').find(l => l.startsWith(`| ${label} |`))
  if (row === undefined) throw new Error(`no row for ${label} in:\n${report}`)
  const cell = row.split('|')[2]?.trim() ?? ''
  return Number(cell.split(' ')[0]?.replaceAll(',', ''))
}

describe('npm run bench, smoke', () => {
  it('saturation: every target answers, reported in the table and written to disk', async () => {
    const { code, stdout, stderr } = await runBench([])
    expect(code, stderr).toBe(0)
    for (const label of LABELS) expect(callsPerSec(stdout, label), label).toBeGreaterThan(0)
    expect(stdout).toContain('| sluice full policy >= 1.3 x baseline calls/s at saturation |')
    // the harness must not make sluice reload its policy during a run (it once wrote logs into the watched folder)
    for (const label of ['sluice passthrough', 'sluice full policy']) expect(stdout).toMatch(new RegExp(`autocannon, ${label}: .*; policy reloads 0`))
    expect(readFileSync(join(out, 'smoke.md'), 'utf8')).toBe(stdout)
    const json = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8')) as { runs: { autocannon: unknown[] } }
    expect(json.runs.autocannon).toHaveLength(LABELS.length)
  }, 150_000) // 10 targets × 2 generators, on a loaded CI box

  it('fixed rate: reports the latency sluice adds over direct', async () => {
    const { code, stdout, stderr } = await runBench(['--rate', '200', '--only', 'direct,full'])
    expect(code, stderr).toBe(0)
    expect(callsPerSec(stdout, 'sluice full policy')).toBeGreaterThan(0)
    expect(stdout).toMatch(/\| sluice full policy \| [+-]\d+\.\d{3} /)
    expect(existsSync(join(out, 'smoke-rate.json'))).toBe(true)
  }, 60_000)

  it('fixed rate without the C generator (no cc): falls back to the Node generator and says so', async () => {
    const { code, stdout, stderr } = await runBench(['--rate', '200', '--only', 'direct,floor', '--no-loadgen'])
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/\| floor: node:http \+ undici, nothing else \| [+-]\d+\.\d{3} /)
    expect(stdout).toContain('C load generator not used (--no-loadgen)')
  }, 60_000)

  it('soak: samples the full policy\'s memory and reports its growth', async () => {
    const { code, stdout, stderr } = await runBench(['--soak', '3', '--rate', '100'])
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/\| RSS growth \| -?\d+\.\d %/)
    expect(existsSync(join(out, 'smoke-soak.json'))).toBe(true)
  }, 60_000)

  it('refuses an unknown flag with the usage and exit code 2', async () => {
    const { code, stderr } = await runBench(['--nope'])
    expect(code).toBe(2)
    expect(stderr).toContain('usage: node bench/run.js')
  }, 20_000)
})

describe('bench/scrubber.js, smoke', () => {
  it('times the scrubber on a path, 4 KB bodies and the adversarial inputs', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [new URL('../../bench/scrubber.js', import.meta.url).pathname, '--smoke'], { cwd: ROOT }, (err, out) => {
        if (err !== null) reject(err)
        else resolve(out)
      })
    })
    expect(stdout).toMatch(/\| 4 KB JSON body \| \d+\.\d \|/)
    expect(stdout).toMatch(/\| adversarial: nested JSON \(application\/json\) \| \d+\.\d \|/)
  }, 30_000)
})
