// The chart's two listeners: the proxy on `host` (loopback in a sidecar, so no
// other pod can spend the credentials it injects) and the admin port on
// `adminHost` (all interfaces, for httpGet probes and scraping). Checked in the
// template sources (CI renders them with helm), then run for real with the
// environment the chart renders.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, loadSettings } from '../../src/settings.js'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { CHART, chartValues, definedTemplate, lookup, loopbackPattern, renderProbeAction, templates, type Values } from './chart.js'

const values = chartValues()
const sources = templates()
const helpers = sources['_helpers.tpl'] as string
const container = definedTemplate(helpers, 'sluice.container')
const loopback = loopbackPattern(helpers)
const readme = readFileSync(join(CHART, 'README.md'), 'utf8')
const admin = Number((values.ports as Values).admin)

/** The three probes of the container for this adminHost, as the chart renders them. */
function probesFor (adminHost: string, port = admin): Record<'startup' | 'liveness' | 'readiness', Values> {
  const probe = (path: string): Values => renderProbeAction(helpers, { loopback: loopback.test(adminHost), host: adminHost, port, path })
  return { startup: probe('/healthz'), liveness: probe('/healthz'), readiness: probe('/readyz') }
}

/** A non-loopback IPv4 address of this machine: the pod's IP, as the kubelet and other pods see it. */
function podIp (): string | undefined {
  return Object.values(networkInterfaces()).flat().find(a => a !== undefined && a.family === 'IPv4' && !a.internal)?.address
}

function refused (host: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host, port })
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

/** The in-container bash probe, run as the kubelet runs an exec probe. */
function execProbe (action: Values): Promise<number | null> {
  const [command, ...args] = (action.exec as { command: string[] }).command
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args, { stdio: 'ignore' })
    child.on('error', reject)
    child.on('exit', resolve)
  })
}

describe('values: host and adminHost', () => {
  it('keeps the proxy on loopback, sluice\'s own default, and opens the admin port on all interfaces', () => {
    expect(values.host).toBe('127.0.0.1')
    expect(values.host).toBe(DEFAULT_SETTINGS.host)
    expect(values.adminHost).toBe('0.0.0.0')
  })
})

describe('SLUICE_ADMIN_HOST', () => {
  it('is rendered from adminHost, or the proxy\'s address when adminHost is empty', () => {
    expect(container).toMatch(/- name: SLUICE_ADMIN_HOST\s+value: \{\{ \$adminHost \| quote \}\}/)
    expect(container).toContain('{{- $adminHost := include "sluice.adminHost" . -}}')
    expect(definedTemplate(helpers, 'sluice.adminHost')).toMatch(/\{\{- \.Values\.adminHost \| default \.host -\}\}/)
  })

  it('is rendered in the sidecar and in the standalone Deployment, both through sluice.container', () => {
    expect(definedTemplate(helpers, 'sluice.sidecar')).toContain('include "sluice.container" (dict "Values" .Values ')
    expect(sources['deployment.yaml']).toContain('include "sluice.container" (dict "Values" .Values ')
  })

  it('keeps SLUICE_HOST the proxy\'s address: host in a sidecar, 0.0.0.0 standalone', () => {
    expect(container).toMatch(/- name: SLUICE_HOST\s+value: \{\{ required "host is required" \.host \| quote \}\}/)
    expect(definedTemplate(helpers, 'sluice.sidecar')).toContain('"host" .Values.host')
    expect(sources['deployment.yaml']).toContain('"host" "0.0.0.0"')
  })

  it('is the variable sluice reads for its admin listener', () => {
    const env = { SLUICE_HOST: String(values.host), SLUICE_ADMIN_HOST: String(values.adminHost) }
    expect(loadSettings({}, env)).toMatchObject({ host: '127.0.0.1', adminHost: '0.0.0.0' })
  })
})

describe('probes', () => {
  it('call the loopback addresses loopback, and no other', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', 'localhost']) expect(loopback.test(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.1.2.3', '192.0.2.7', '127.0.0.1.example']) expect(loopback.test(host), host).toBe(false)
  })

  it('follow adminHost, not the proxy\'s host', () => {
    expect(container).toContain('{{- $adminLoopback := include "sluice.isLoopback" $adminHost -}}')
    const calls = [...container.matchAll(/include "sluice\.probeAction" \(dict ([^)]*)\)/g)].map(m => m[1])
    expect(calls).toHaveLength(3)
    for (const args of calls) expect(args).toMatch(/^"loopback" \$adminLoopback "host" \$adminHost "port" \$admin "path" "\/(healthz|readyz)"$/)
  })

  it('are plain httpGet on the admin port when adminHost is 0.0.0.0', () => {
    expect(probesFor('0.0.0.0')).toEqual({
      startup: { httpGet: { path: '/healthz', port: 'sluice-admin' } },
      liveness: { httpGet: { path: '/healthz', port: 'sluice-admin' } },
      readiness: { httpGet: { path: '/readyz', port: 'sluice-admin' } },
    })
    expect(container).toMatch(/name: sluice-admin\s+containerPort: \{\{ \$admin \}\}/)
  })

  it('run bash inside the container when adminHost is 127.0.0.1', () => {
    const { startup, liveness, readiness } = probesFor('127.0.0.1')
    for (const [probe, path] of [[startup, '/healthz'], [liveness, '/healthz'], [readiness, '/readyz']] as const) {
      expect(probe.httpGet).toBeUndefined()
      const command = (probe.exec as { command: string[] }).command
      expect(command.slice(0, 2)).toEqual(['/bin/bash', '-c'])
      expect(command.slice(3)).toEqual(['probe', '127.0.0.1', String(admin), path])
    }
  })
})

describe('scrape annotations', () => {
  it('point at the admin port\'s /metrics', () => {
    const hints = definedTemplate(helpers, 'sluice.scrapeAnnotations')
    expect(hints).toContain('prometheus.io/port: {{ int .Values.ports.admin | quote }}')
    expect(hints).toContain('prometheus.io/path: /metrics')
  })

  it('are rendered only when the admin port is reachable: standalone by default, sidecar on request', () => {
    const gate = /not \(include "sluice\.isLoopback" \(include "sluice\.adminHost" \(dict "Values" \.Values "host" ([^)]+)\)\)\)/
    const standalone = definedTemplate(helpers, 'sluice.standalonePodAnnotations')
    const sidecar = definedTemplate(helpers, 'sluice.podAnnotations')
    expect(standalone).toMatch(/if and \.Values\.standalone\.scrapeAnnotations /)
    expect(gate.exec(standalone)?.[1]).toBe('"0.0.0.0"')
    expect(sidecar).toMatch(/if and \.Values\.sidecar\.scrapeAnnotations /)
    expect(gate.exec(sidecar)?.[1]).toBe('.Values.host')
    expect(lookup(values, ['standalone', 'scrapeAnnotations'])).toBe(true)
    expect(lookup(values, ['sidecar', 'scrapeAnnotations'])).toBe(false)
  })
})

describe('the chart README', () => {
  it('documents adminHost: the split, the probes, masked /policies, a NetworkPolicy on port 9090', () => {
    expect(readme).toMatch(/\| `adminHost` \| `0\.0\.0\.0` \|[^\n]*`SLUICE_ADMIN_HOST`/)
    expect(readme).toMatch(/\| `host` \| `127\.0\.0\.1` \|[^\n]*`SLUICE_HOST`/)
    expect(readme).toContain('## Two listeners: proxy on loopback, admin on all interfaces')
    expect(readme).toMatch(/`\/policies`[^.]*secret masked/)
    expect(readme).toMatch(/restrict port 9090 with a\s+NetworkPolicy/)
    expect(readme).toMatch(/kind: NetworkPolicy[\s\S]*?- port: sluice-admin/)
    expect(readme).toContain('`adminHost: 127.0.0.1`')
  })

  it('says the same in values.yaml and NOTES.txt', () => {
    const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8')
    expect(valuesText).toMatch(/adminHost \(SLUICE_ADMIN_HOST\)[\s\S]*masked[\s\S]*NetworkPolicy[\s\S]*\nadminHost: 0\.0\.0\.0\n/)
    const notes = sources['NOTES.txt'] as string
    expect(notes).toContain('include "sluice.adminHost"')
    expect(notes).toContain('SLUICE_ADMIN_HOST')
    expect(notes).toMatch(/secret masked[\s\S]*NetworkPolicy/)
  })
})

// The chart's default environment, run: the kubelet's httpGet reaches the
// admin port on the pod's IP, while the proxy answers on loopback only.
describe('sluice with the chart\'s env', () => {
  const ip = podIp()
  const SECRET = 'sk_test_admin_port_canary_4242'
  const POLICY = 'vendor: v\nupstream: http://127.0.0.1:9\ninject:\n  headers:\n    Authorization: "Bearer ${env:V_KEY}"\n'
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(dir => rm(dir, { recursive: true, force: true }))) })

  async function start (adminHost: string): Promise<{ cli: CliProcess, proxyPort: number, adminPort: number }> {
    const dir = await policyDir({ 'v.yaml': POLICY })
    dirs.push(dir)
    const cli = runCli(['start'], { SLUICE_POLICIES: dir, SLUICE_HOST: String(values.host), SLUICE_ADMIN_HOST: adminHost, SLUICE_PORT: '0', SLUICE_ADMIN_PORT: '0', V_KEY: SECRET })
    const urls = await cli.listening
    return { cli, proxyPort: Number(new URL(urls.proxy).port), adminPort: Number(new URL(urls.admin).port) }
  }

  async function stop (cli: CliProcess): Promise<void> {
    if (cli.child.exitCode === null) cli.child.kill('SIGTERM')
    await cli.exited
  }

  describe.skipIf(ip === undefined)('adminHost 0.0.0.0 (the default)', () => {
    let s: Awaited<ReturnType<typeof start>>
    beforeAll(async () => { s = await start(String(values.adminHost)) })
    afterAll(async () => { await stop(s.cli) })

    it('answers the httpGet probes on the pod\'s IP', async () => {
      for (const path of ['/healthz', '/readyz']) {
        const res = await fetch(`http://${ip as string}:${s.adminPort}${path}`)
        expect(res.status, path).toBe(200)
      }
    })

    it('serves /metrics and /policies there, with the secrets masked', async () => {
      expect((await fetch(`http://${ip as string}:${s.adminPort}/metrics`)).status).toBe(200)
      const policies = await fetch(`http://${ip as string}:${s.adminPort}/policies`)
      expect(policies.status).toBe(200)
      const text = await policies.text()
      expect(text).toContain('"v"')
      expect(text).toContain('Bearer ${env:V_KEY}')
      expect(text).not.toContain(SECRET)
    })

    it('keeps the proxy off the pod\'s IP', async () => {
      expect(await refused(ip as string, s.proxyPort)).toBe(true)
      expect(await refused('127.0.0.1', s.proxyPort)).toBe(false)
    })
  })

  describe.skipIf(ip === undefined)('adminHost 127.0.0.1', () => {
    let s: Awaited<ReturnType<typeof start>>
    beforeAll(async () => { s = await start('127.0.0.1') })
    afterAll(async () => { await stop(s.cli) })

    it('is out of the kubelet\'s reach, and the in-container probes pass', async () => {
      expect(await refused(ip as string, s.adminPort)).toBe(true)
      for (const probe of Object.values(probesFor('127.0.0.1', s.adminPort))) expect(await execProbe(probe)).toBe(0)
    })
  })
})
