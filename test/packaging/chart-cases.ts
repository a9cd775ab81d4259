// The chart configurations the chart README documents, as values files for
// a real helm: each one is linted, rendered and checked against the
// Kubernetes schemas (chart-render.test.ts), and the files about one feature
// look into their output.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { Values } from './chart.js'
import { appChartCopy, helm, render } from './chart-helm.js'
import { CHART } from './chart.js'

export interface Case {
  /** the example app chart (sidecar in the app's pod), with these values under `sluice:` */
  app?: boolean
  values: Values
}

const standalone = { standalone: { enabled: true } }

export const CASES: Record<string, Case> = {
  'sidecar, the chart alone': { values: {} },
  'sidecar in the app chart': { app: true, values: {} },
  'native sidecar': { app: true, values: { sidecar: { native: true } } },
  'loopback admin port': { app: true, values: { adminHost: '127.0.0.1' } },
  'sidecar scrape annotations': { app: true, values: { sidecar: { scrapeAnnotations: true } } },
  'own policies': { values: { policies: { 'openai.yaml': 'vendor: openai\nupstream: https://api.openai.com\n' } } },
  standalone: {
    values: {
      standalone: {
        enabled: true,
        networkPolicy: { enabled: true, adminFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      },
      rolloutOnPolicyChange: true,
    },
  },
  'redis url': { values: { ...standalone, redis: { url: 'redis://redis:6379' } } },
  'redis url secret': { values: { ...standalone, redis: { existingSecret: { name: 'redis-url' } } } },
  'redis cluster': { values: { ...standalone, redis: { cluster: ['redis-0:6379', 'redis-1:6379'] } } },
  'redis cluster secret': { values: { ...standalone, redis: { clusterSecret: { name: 'redis-seeds' } } } },
  'redis secured': {
    values: {
      ...standalone,
      redis: { clusterSecret: { name: 'redis-seeds' }, caFile: '/etc/redis-ca/ca.pem' },
      secretMounts: [{ name: 'redis-ca', secretName: 'redis-ca', mountPath: '/etc/redis-ca' }],
    },
  },
  'service monitor': { values: { ...standalone, serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } } },
  'standalone pod monitor': { values: { ...standalone, podMonitor: { enabled: true } } },
  'sidecar pod monitor': { app: true, values: { podMonitor: { enabled: true, selector: { matchLabels: { app: 'payments' } } } } },
  rule: { values: { prometheusRule: { enabled: true, runbookBaseUrl: 'https://example.com/helm/sluice/README.md' } } },
  dashboards: { values: { dashboards: { enabled: true, namespace: 'monitoring', annotations: { grafana_folder: 'Egress' } } } },
  'tls mounts': {
    values: {
      ...standalone,
      tls: {
        caSecret: { name: 'corp-ca' },
        clientCertSecrets: [
          { name: 'bank', secretName: 'bank-mtls' },
          { name: 'ledger', secretName: 'ledger-mtls', mountPath: '/etc/ledger' },
        ],
      },
      intercept: { caSecret: { name: 'sluice-intercept-ca' } },
    },
  },
  'tls mounts in the app chart': { app: true, values: { tls: { caSecret: { name: 'corp-ca', key: 'bundle.pem' } }, intercept: { caSecret: { name: 'sluice-intercept-ca' } } } },
}

let dir: string | undefined

/** A values file for helm's -f. */
export function valuesFile (values: Values): string {
  dir ??= mkdtempSync(join(tmpdir(), 'sluice-chart-values-'))
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, stringify(values))
  return file
}

/** The chart folder and the -f flags of a case. */
export function chartAndFlags (c: Case): { chart: string, flags: string[] } {
  if (c.app === true) return { chart: appChartCopy(), flags: ['-f', valuesFile({ sluice: c.values })] }
  return { chart: CHART, flags: ['-f', valuesFile(c.values)] }
}

/** The objects a case renders. */
export function renderCase (c: Case): Values[] {
  const { chart, flags } = chartAndFlags(c)
  return render(flags, chart, c.app === true ? 'payments' : 'sluice')
}

/** `helm lint --strict` of a case: its exit status and output. */
export function lintCase (c: Case): { status: number | null, output: string } {
  const { chart, flags } = chartAndFlags(c)
  const r = helm(['lint', '--strict', chart, ...flags])
  return { status: r.status, output: r.stdout + r.stderr }
}

/** The install notes helm prints for these values (a client-side dry run). */
export function notes (values: Values): string {
  const r = helm(['install', 'sluice', CHART, '--dry-run=client', '-f', valuesFile(values)])
  if (r.status !== 0) throw new Error(`helm install --dry-run failed:\n${r.stderr}`)
  const at = r.stdout.indexOf('NOTES:')
  if (at === -1) throw new Error('helm printed no NOTES')
  return r.stdout.slice(at)
}

/** The sluice container of rendered objects (the Deployment's, or the app's pod's). */
export function sluiceContainer (docs: Values[]): Values {
  for (const d of docs) {
    const pod = ((d.spec as Values | undefined)?.template as Values | undefined)?.spec as Values | undefined
    const all = [...(pod?.containers as Values[] | undefined ?? []), ...(pod?.initContainers as Values[] | undefined ?? [])]
    const c = all.find(x => x.name === 'sluice')
    if (c !== undefined) return c
  }
  throw new Error('no sluice container rendered')
}

/** The pod spec that holds the sluice container. */
export function sluicePod (docs: Values[]): Values {
  const c = sluiceContainer(docs)
  for (const d of docs) {
    const pod = ((d.spec as Values | undefined)?.template as Values | undefined)?.spec as Values | undefined
    if ([...(pod?.containers as Values[] | undefined ?? []), ...(pod?.initContainers as Values[] | undefined ?? [])].includes(c)) return pod as Values
  }
  throw new Error('unreachable')
}

/** The container's environment as name -> value or valueFrom. */
export function envOf (container: Values): Record<string, unknown> {
  return Object.fromEntries((container.env as Values[]).map(e => [e.name as string, e.value ?? e.valueFrom]))
}
