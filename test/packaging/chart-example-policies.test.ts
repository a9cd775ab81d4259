// The chart's example policy runs only while no policy of the user's is set:
// it is never merged into the user's own (Helm merges maps, so an example in
// `policies` itself would be).
import { describe, expect, it } from 'vitest'
import type { Values } from './chart.js'
import { find, render } from './chart-helm.js'
import { CASES, notes, renderCase, valuesFile } from './chart-cases.js'

const files = (docs: Values[]): string[] => Object.keys(find(docs, 'ConfigMap').data as Values).sort()

describe('the policies ConfigMap', () => {
  it('holds the example while policies is empty, and the notes say so', () => {
    expect(files(renderCase(CASES['sidecar, the chart alone'] as (typeof CASES)[string]))).toEqual(['stripe.yaml'])
    expect(notes({})).toContain('no policies are set, so the chart\'s examples run (stripe.yaml)')
  })

  it('holds only the user\'s policies when there are any', () => {
    const own = CASES['own policies'] as (typeof CASES)[string]
    expect(files(renderCase(own))).toEqual(['openai.yaml'])
    expect(notes(own.values)).not.toContain('examples run')
  })

  it('takes a null entry, as older chart versions advised for the example, as no such file', () => {
    const policies = { 'stripe.yaml': null, 'openai.yaml': 'vendor: openai\nupstream: https://api.openai.com\n' }
    expect(files(render(['-f', valuesFile({ policies })]))).toEqual(['openai.yaml'])
  })

  it('is not rendered with an existing ConfigMap, and the pods mount that one', () => {
    const docs = render(['-f', valuesFile({ existingPoliciesConfigMap: 'reviewed-policies', standalone: { enabled: true } })])
    expect(docs.filter(d => d.kind === 'ConfigMap')).toEqual([])
    const pod = (find(docs, 'Deployment').spec as { template: { spec: { volumes: Values[] } } }).template.spec
    expect(pod.volumes[0]).toEqual({ name: 'sluice-policies', configMap: { name: 'reviewed-policies' } })
  })

  it('changes the rollout checksum with the policies actually mounted', () => {
    const checksum = (values: Values): unknown => ((find(render(['-f', valuesFile({ ...values, rolloutOnPolicyChange: true, standalone: { enabled: true } })]), 'Deployment').spec as { template: { metadata: { annotations: Values } } }).template.metadata.annotations['checksum/sluice-policies'])
    const example = checksum({})
    const own = checksum((CASES['own policies'] as (typeof CASES)[string]).values)
    expect(example).toMatch(/^[0-9a-f]{64}$/)
    expect(own).toMatch(/^[0-9a-f]{64}$/)
    expect(own).not.toBe(example)
  })
})
