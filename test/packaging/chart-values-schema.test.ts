// values.schema.json: a value the chart does not know, or one of the wrong
// type or out of range, fails helm template/install instead of rendering
// something that would be ignored or crash-loop.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CHART, chartValues, type Values } from './chart.js'
import { appChartCopy, helm, render, renderError } from './chart-helm.js'

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Values

describe('helm refuses', () => {
  it.each([
    [['--set', 'standalone.enable=true'], /at '\/standalone': additional properties 'enable' not allowed/],
    [['--set', 'ports.proxy=abc'], /at '\/ports\/proxy': got string, want integer/],
    [['--set', 'ports.admin=70000'], /at '\/ports\/admin': maximum/],
    [['--set', 'ports.proxy=0'], /at '\/ports\/proxy': minimum/],
    [['--set', 'logLevel=verbose'], /at '\/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'/],
    [['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    [['--set', 'redis.url=http://redis:6379'], /at '\/redis\/url'/],
    [['--set', 'serviceMonitor.interval=often'], /at '\/serviceMonitor\/interval'/],
    [['--set-json', 'tls.clientCertSecrets=[{"name":"bank"}]'], /at '\/tls\/clientCertSecrets\/0': missing property 'secretName'/],
    [['--set-json', 'policies={"notes.txt":"x"}'], /'notes.txt' does not match pattern/],
  ])('%j', (flags, message) => {
    expect(renderError(flags)).toMatch(message)
  })

  it('a typo under the sluice key of an app chart that uses this one as a dependency', () => {
    const r = helm(['template', 'payments', appChartCopy(), '--set', 'sluice.standalone.enable=true'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/sluice:\s*\n- at '\/standalone': additional properties 'enable' not allowed/)
  })
})

describe('helm accepts', () => {
  it('the defaults, and a parent chart\'s condition and global values', () => {
    expect(render([]).length).toBeGreaterThan(0)
    const r = helm(['template', 'payments', appChartCopy(), '--set', 'sluice.enabled=true', '--set', 'global.team=payments'])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })
})

describe('values.schema.json', () => {
  /** Every object schema in the file, with its path. */
  function objects (node: unknown, path: string, out: Array<[string, Values]>): Array<[string, Values]> {
    if (node === null || typeof node !== 'object') return out
    const n = node as Values
    if (n.type === 'object' && n.properties !== undefined) out.push([path, n])
    for (const [k, v] of Object.entries(n)) objects(v, `${path}/${k}`, out)
    return out
  }

  it('closes every object it lists the properties of', () => {
    const open = objects(schema, '', []).filter(([, o]) => o.additionalProperties !== false).map(([p]) => p)
    expect(open).toEqual([])
  })

  it('knows every value of values.yaml, at every level', () => {
    const missing: string[] = []
    const walk = (values: unknown, s: Values | undefined, path: string): void => {
      if (values === null || typeof values !== 'object' || Array.isArray(values) || s === undefined) return
      const props = s.properties as Record<string, Values> | undefined
      if (props === undefined) return
      for (const [k, v] of Object.entries(values)) {
        if (!(k in props)) missing.push(`${path}.${k}`)
        else walk(v, props[k], `${path}.${k}`)
      }
    }
    walk(chartValues(), schema, '')
    expect(missing).toEqual([])
  })
})
