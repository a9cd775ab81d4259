// The Helm chart, checked without helm (CI lints and renders it): its YAML
// files parse, every value a template reads exists, and the chart agrees with
// the image and with sluice's own defaults.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS } from '../../src/settings.js'
import { APP_CHART, CHART, chartValues, definedTemplate, lookup, readYaml, templates, valueRefs, type Values } from './chart.js'
import { env, last, readDockerfile, ROOT } from './dockerfile.js'

const values = chartValues()
const chart = readYaml(join(CHART, 'Chart.yaml'))
const sources = templates()
const helpers = sources['_helpers.tpl'] as string
const container = definedTemplate(helpers, 'sluice.container')
const runtime = readDockerfile().stages.at(-1)
if (runtime === undefined) throw new Error('the Dockerfile has no stage')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

describe('Chart.yaml', () => {
  it('is a v2 application chart named sluice', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'sluice', type: 'application' })
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('deploys the package version: appVersion and the default image tag', () => {
    expect(chart.appVersion).toBe(pkg.version)
    expect(lookup(values, ['image', 'tag'])).toBe(pkg.version)
  })
})

describe('values', () => {
  it.each(Object.keys(sources))('every .Values path that %s reads is in values.yaml', (name) => {
    const missing = valueRefs(sources[name] as string).filter(path => lookup(values, path) === undefined)
    expect(missing.map(p => p.join('.'))).toEqual([])
  })

  it('every .Values.sluice path the example app chart reads is a value of this chart', () => {
    const app = templates(APP_CHART)
    const missing = Object.values(app).flatMap(src => valueRefs(src, '.Values.sluice')).filter(path => lookup(values, path) === undefined)
    expect(missing.map(p => p.join('.'))).toEqual([])
  })

  it('the example app chart depends on this chart, by its version and path', () => {
    const app = readYaml(join(APP_CHART, 'Chart.yaml'))
    const dep = (app.dependencies as Values[]).find(d => d.name === 'sluice')
    expect(dep?.version).toBe(chart.version)
    expect(resolve(APP_CHART, String(dep?.repository).replace(/^file:\/\//, ''))).toBe(CHART)
  })

  it('has small default resources and no CPU limit', () => {
    expect(values.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } })
  })

  it('defaults to a sidecar on loopback, sluice\'s own default', () => {
    expect(lookup(values, ['standalone', 'enabled'])).toBe(false)
    expect(values.host).toBe(DEFAULT_SETTINGS.host)
    expect(values.logLevel).toBe(DEFAULT_SETTINGS.logLevel)
  })

  it('leaves policy changes to sluice\'s own reload unless a rollout is asked for', () => {
    expect(values.rolloutOnPolicyChange).toBe(false)
    expect(definedTemplate(helpers, 'sluice.podAnnotations')).toContain('if and .Values.rolloutOnPolicyChange')
  })
})

describe('templates', () => {
  it.each(Object.keys(sources))('%s closes every if, range, with and define', (name) => {
    const src = sources[name] as string
    const opened = [...src.matchAll(/\{\{-?\s*(if|range|with|define|block)\b/g)].length
    const closed = [...src.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length
    expect(closed).toBe(opened)
  })

  it('render the standalone resources only when standalone.enabled', () => {
    for (const name of ['deployment.yaml', 'service.yaml', 'poddisruptionbudget.yaml', 'networkpolicy.yaml']) {
      expect(sources[name]?.split('\n')[0], name).toMatch(/^\{\{- if (and )?\.Values\.standalone\.enabled\b/)
    }
  })
})

describe('the sluice container', () => {
  it('declares the ports of values.yaml, which are sluice\'s defaults and the image\'s EXPOSE', () => {
    expect(container).toMatch(/name: sluice-proxy\s+containerPort: \{\{ int \.Values\.ports\.proxy \}\}/)
    expect(container).toMatch(/name: sluice-admin\s+containerPort: \{\{ \$admin \}\}/)
    expect(container).toContain('$admin := int .Values.ports.admin')
    expect(container).toMatch(/name: SLUICE_PORT\s+value: \{\{ int \.Values\.ports\.proxy \| quote \}\}/)
    expect(container).toMatch(/name: SLUICE_ADMIN_PORT\s+value: \{\{ \$admin \| quote \}\}/)
    expect(values.ports).toEqual({ proxy: DEFAULT_SETTINGS.port, admin: DEFAULT_SETTINGS.adminPort })
    const exposed = last(runtime, 'EXPOSE')?.args.split(/\s+/).map(Number)
    expect(exposed).toEqual([DEFAULT_SETTINGS.port, DEFAULT_SETTINGS.adminPort])
  })

  it('is reached by the Service through its named ports', () => {
    const service = sources['service.yaml'] as string
    expect([...service.matchAll(/targetPort: (\S+)/g)].map(m => m[1])).toEqual(['sluice-proxy', 'sluice-admin'])
  })

  it('passes Redis cluster seeds from a Secret when asked (they may carry a password), and the Redis CA file', () => {
    const redis = values.redis as { clusterSecret: { name: string, key: string }, caFile: string, cluster: unknown[] }
    expect(redis).toMatchObject({ clusterSecret: { name: '', key: 'seeds' }, caFile: '', cluster: [] })
    expect(container).toMatch(/if \.Values\.redis\.clusterSecret\.name \}\}\s+- name: SLUICE_REDIS_CLUSTER\s+valueFrom:\s+secretKeyRef:\s+name: \{\{ \.Values\.redis\.clusterSecret\.name \}\}\s+key: \{\{ \.Values\.redis\.clusterSecret\.key \}\}/)
    expect(container).toMatch(/else if \.Values\.redis\.cluster \}\}\s+- name: SLUICE_REDIS_CLUSTER\s+value: \{\{ join "," \.Values\.redis\.cluster \| quote \}\}/)
    expect(container).toMatch(/with \.Values\.redis\.caFile \}\}\s+- name: SLUICE_REDIS_CA_FILE\s+value: \{\{ \. \| quote \}\}/)
  })

  it('mounts the policies where the image looks for them by default', () => {
    expect(values.policiesMountPath).toBe(env(runtime).SLUICE_POLICIES)
    expect(container).toMatch(/name: SLUICE_POLICIES\s+value: \{\{ \.Values\.policiesMountPath \| quote \}\}/)
    expect(container).toMatch(/- name: sluice-policies\s+mountPath: \{\{ \.Values\.policiesMountPath \}\}\s+readOnly: true/)
    expect(definedTemplate(helpers, 'sluice.volumes')).toMatch(/- name: sluice-policies\s+configMap:\s+name: \{\{ include "sluice\.policiesConfigMap" \. \}\}/)
    expect(sources['configmap.yaml']).toContain('name: {{ include "sluice.policiesConfigMap" . }}')
  })

  it('runs as the image\'s user, non-root, read-only, without capabilities or escalation', () => {
    const [uid, gid] = (last(runtime, 'USER')?.args ?? '').split(':').map(Number)
    expect(values.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: gid,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(lookup(values, ['standalone', 'podSecurityContext', 'runAsUser'])).toBe(uid)
    expect(container).toContain('toYaml .Values.securityContext')
  })

  it('probes liveness and startup on /healthz and readiness on /readyz', () => {
    const probe = (name: string): string | undefined => new RegExp(`${name}:\\s*\\{\\{- include "sluice\\.probeAction" \\(dict [^)]*"path" "([^"]+)"\\)`).exec(container)?.[1]
    expect(probe('startupProbe')).toBe('/healthz')
    expect(probe('livenessProbe')).toBe('/healthz')
    expect(probe('readinessProbe')).toBe('/readyz')
  })

  it('drains for drainTimeoutSeconds, sluice\'s default, within the grace period', () => {
    expect(Number(values.drainTimeoutSeconds) * 1000).toBe(DEFAULT_SETTINGS.drainTimeoutMs)
    expect(container).toContain('printf "%ds" (int .Values.drainTimeoutSeconds)')
    expect(Number(values.terminationGracePeriodSeconds)).toBeGreaterThan(Number(values.preStopSleepSeconds) + Number(values.drainTimeoutSeconds))
    expect(sources['deployment.yaml']).toContain('{{- if le $grace $needed }}')
  })

  it('is a restartable init container only when sidecar.native', () => {
    expect(lookup(values, ['sidecar', 'native'])).toBe(false)
    expect(container).toMatch(/\{\{- if \.native \}\}\s+restartPolicy: Always\s+\{\{- end \}\}/)
  })
})

describe('the chart README', () => {
  it('documents every top-level value', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8')
    for (const key of Object.keys(values)) expect(readme, key).toContain(`\`${key}`)
  })

  it('shows the sidecar snippet with the helpers the chart defines', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8')
    for (const name of ['sluice.sidecar', 'sluice.volumes', 'sluice.hostAliases', 'sluice.podAnnotations']) {
      expect(readme).toContain(`include "${name}" $sluice`)
      expect(helpers).toContain(`{{- define "${name}" -}}`)
    }
  })
})
