// The chart's Prometheus Operator objects and Grafana dashboard, rendered by a
// real helm: the monitors select the pods and ports sluice serves /metrics
// on, the alerts and panels query metrics sluice exports, and every alert has
// its runbook in the chart README.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CHART, type Values } from './chart.js'
import { find, renderError } from './chart-helm.js'
import { CASES, renderCase, sluiceContainer } from './chart-cases.js'
import { ROOT } from './dockerfile.js'

const readme = readFileSync(join(CHART, 'README.md'), 'utf8')
const metricsSource = readFileSync(join(ROOT, 'src/observability/metrics.ts'), 'utf8')
// Named by the spec and exported by work that lands beside this chart: the
// credential gauge and the asynchronous jobs' metrics.
const COMING = ['sluice_credential_available', 'sluice_jobs_pending', 'sluice_jobs_total']
const exported = new Set([...[...metricsSource.matchAll(/'(sluice_[a-z_]+)'/g)].map(m => m[1] as string), ...COMING])

/** The sluice_ metrics a PromQL text reads, histogram series reduced to their metric. */
function metricsIn (text: string): string[] {
  return [...new Set([...text.matchAll(/\b(sluice_[a-z_]+)/g)].map(m => (m[1] as string).replace(/_(bucket|sum|count)$/, '')))]
}

const labels = (o: Values): Record<string, string> => (o.metadata as { labels: Record<string, string> }).labels
const selects = (selector: Record<string, string>, target: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => target[k] === v)

describe('serviceMonitor', () => {
  const docs = renderCase(CASES['service monitor'] as (typeof CASES)[string])
  const monitor = find(docs, 'ServiceMonitor')
  const service = find(docs, 'Service')
  const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }, endpoints: Values[], namespaceSelector: Values }

  it('selects the standalone Service and scrapes its admin port, which leads to the container\'s sluice-admin', () => {
    expect(selects(spec.selector.matchLabels, labels(service))).toBe(true)
    const port = (service.spec as { ports: Values[] }).ports.find(p => p.name === spec.endpoints[0]?.port)
    expect(port?.targetPort).toBe('sluice-admin')
    expect((sluiceContainer(docs).ports as Values[]).map(p => p.name)).toContain('sluice-admin')
    expect(spec.endpoints[0]).toMatchObject({ path: '/metrics', interval: '30s' })
    expect(labels(monitor).release).toBe('prometheus')
  })

  it('is refused in sidecar mode, which has no Service, and with a loopback admin port', () => {
    expect(renderError(['--set', 'serviceMonitor.enabled=true'])).toContain('serviceMonitor.enabled needs standalone.enabled')
    expect(renderError(['--set', 'serviceMonitor.enabled=true', '--set', 'standalone.enabled=true', '--set', 'adminHost=127.0.0.1'])).toContain('loopback adminHost')
  })
})

describe('podMonitor', () => {
  it('standalone: selects the sluice pods by default, on the container port sluice-admin', () => {
    const docs = renderCase(CASES['standalone pod monitor'] as (typeof CASES)[string])
    const spec = find(docs, 'PodMonitor').spec as { selector: { matchLabels: Record<string, string> }, podMetricsEndpoints: Values[] }
    const deployment = find(docs, 'Deployment') as { spec: { template: { metadata: Values } } }
    expect(selects(spec.selector.matchLabels, deployment.spec.template.metadata.labels as Record<string, string>)).toBe(true)
    expect(spec.podMetricsEndpoints[0]).toMatchObject({ port: 'sluice-admin', path: '/metrics' })
  })

  it('sidecar: selects the app\'s pods by podMonitor.selector, and refuses to guess them', () => {
    const docs = renderCase(CASES['sidecar pod monitor'] as (typeof CASES)[string])
    const spec = find(docs, 'PodMonitor').spec as { selector: { matchLabels: Record<string, string> }, podMetricsEndpoints: Values[] }
    const app = find(docs, 'Deployment') as { spec: { template: { metadata: Values } } }
    expect(selects(spec.selector.matchLabels, app.spec.template.metadata.labels as Record<string, string>)).toBe(true)
    expect((sluiceContainer(docs).ports as Values[]).map(p => p.name)).toContain(spec.podMetricsEndpoints[0]?.port)
    expect(renderError(['--set', 'podMonitor.enabled=true'])).toContain('podMonitor.enabled needs podMonitor.selector in sidecar mode')
  })
})

describe('prometheusRule', () => {
  const docs = renderCase(CASES.rule as (typeof CASES)[string])
  const rules = (find(docs, 'PrometheusRule').spec as { groups: Array<{ rules: Values[] }> }).groups.flatMap(g => g.rules)
  const byName = Object.fromEntries(rules.map(r => [r.alert as string, r]))
  const alertsSection = readme.slice(readme.indexOf('### Alerts'), readme.indexOf('## Values'))

  it('alerts on an open breaker, Redis down, rising refusals, an unavailable credential and dead or piling jobs', () => {
    expect(byName.SluiceCircuitOpen?.expr).toMatch(/^sluice_circuit_state\{namespace="default"\} == 2$/)
    expect(byName.SluiceRedisDown?.expr).toMatch(/^sluice_redis_up\{namespace="default"\} == 0$/)
    expect(byName.SluiceRefusalsRising?.expr).toMatch(/rate\(sluice_ratelimit_decisions_total\{namespace="default",decision="rejected"\}\[5m\]\)\)\s+\/ sum by \(namespace, vendor, bucket\) \(rate\(sluice_ratelimit_decisions_total\{namespace="default"\}\[5m\]\)\)\s+> 0\.05/)
    expect(byName.SluiceCredentialUnavailable?.expr).toMatch(/^sluice_credential_available\{namespace="default"\} == 0$/)
    expect(byName.SluiceJobsDead?.expr).toMatch(/increase\(sluice_jobs_total\{namespace="default",result="dead"\}\[15m\]\)\) > 0$/)
    expect(byName.SluiceJobsBacklog?.expr).toMatch(/sum by \(namespace, vendor\) \(sluice_jobs_pending\{namespace="default"\}\) > 1000$/)
    expect(byName.SluiceCircuitOpen?.for).toBe('2m')
  })

  it('queries only metrics sluice exports', () => {
    const unknown = rules.flatMap(r => metricsIn(String(r.expr))).filter(m => !exported.has(m))
    expect(unknown).toEqual([])
  })

  it('gives each alert a runbook in the chart README, and a runbook_url pointing at it', () => {
    const documented = [...alertsSection.matchAll(/^#### (\w+)$/gm)].map(m => m[1])
    expect(documented.sort()).toEqual(Object.keys(byName).sort())
    for (const [name, rule] of Object.entries(byName)) {
      const section = alertsSection.slice(alertsSection.indexOf(`#### ${name}`)).split(/\n#### /)[0] as string
      expect(section, name).toContain('**Runbook:**')
      expect((rule.annotations as Values).runbook_url).toBe(`https://example.com/helm/sluice/README.md#${name.toLowerCase()}`)
      expect((rule.annotations as Values).summary, name).toBeTruthy()
    }
  })
})

describe('dashboards', () => {
  const docs = renderCase(CASES.dashboards as (typeof CASES)[string])
  const configMap = find(docs, 'ConfigMap', 'sluice-dashboard')
  const dashboard = JSON.parse((configMap.data as Record<string, string>)['sluice.json'] as string) as { panels: Array<{ title: string, targets?: Array<{ expr: string }> }> }
  const exprs = dashboard.panels.flatMap(p => (p.targets ?? []).map(t => t.expr))

  it('is a ConfigMap labelled for Grafana\'s dashboard sidecar, where it looks', () => {
    expect(labels(configMap).grafana_dashboard).toBe('1')
    expect(configMap.metadata).toMatchObject({ namespace: 'monitoring', annotations: { grafana_folder: 'Egress' } })
  })

  it('shows success rate, p95 latency, rate-limit usage and refusals per bucket, breakers, retries, Redis and jobs', () => {
    const text = exprs.join('\n')
    expect(text).toMatch(/status!~"5\.\."/)
    expect(text).toMatch(/histogram_quantile\(0\.95, sum by \(vendor, le\) \(rate\(sluice_request_duration_seconds_bucket/)
    expect(text).toMatch(/sum by \(vendor, bucket, decision\) \(rate\(sluice_ratelimit_decisions_total/)
    expect(text).toMatch(/sum by \(vendor, bucket\) \(rate\(sluice_ratelimit_decisions_total\{[^}]*decision="rejected"/)
    for (const m of ['sluice_circuit_state', 'sluice_retries_total', 'sluice_redis_up', 'sluice_jobs_pending', 'sluice_jobs_total']) expect(text).toContain(m)
  })

  it('queries only metrics sluice exports', () => {
    expect(exprs.flatMap(metricsIn).filter(m => !exported.has(m))).toEqual([])
  })

  it('is not rendered unless asked for', () => {
    expect(renderCase(CASES['sidecar, the chart alone'] as (typeof CASES)[string]).map(d => d.kind)).toEqual(['ConfigMap'])
  })
})
