// The CI workflow, read as data (actionlint and the runners are not here): it
// runs the project's own check script on every Node.js major the package
// admits, builds and runs the image, and renders the chart.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readYaml, type Values } from './chart.js'
import { readDockerfile, ROOT } from './dockerfile.js'

interface Step { uses?: string, run?: string, with?: Values }
interface Job { 'runs-on': string, steps: Step[], strategy?: { matrix: { node: number[] } } }

const workflow = readYaml(join(ROOT, '.github/workflows/ci.yml')) as { on: Values, permissions: Values, jobs: Record<string, Job> }
const jobs = workflow.jobs
const runs = (job: string): string => (jobs[job]?.steps ?? []).map(s => s.run ?? '').join('\n')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }

describe('ci.yml', () => {
  it('runs on pushes to main and on pull requests, with read-only repository access', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push'])
    expect(workflow.permissions).toEqual({ contents: 'read' })
  })

  it('has the test, docker and helm jobs', () => {
    expect(Object.keys(jobs).sort()).toEqual(['docker', 'helm', 'test'])
  })

  it('pins every action to a major version or a commit', () => {
    for (const job of Object.values(jobs)) {
      for (const step of job.steps) if (step.uses !== undefined) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$/)
    }
  })
})

describe('the test job', () => {
  const test = jobs.test as Job

  it('runs the project\'s own check script', () => {
    expect(runs('test')).toMatch(/^bash \.ci\/run$/m)
  })

  it('sets up the matrix\'s Node.js before it', () => {
    const setup = test.steps.find(s => s.uses?.startsWith('actions/setup-node@'))
    expect(setup?.with?.['node-version']).toBe('${{ matrix.node }}')
    expect(test.steps.indexOf(setup as Step)).toBeLessThan(test.steps.findIndex(s => s.run === 'bash .ci/run'))
  })

  it('tests every Node.js major from the engines floor up to the image\'s', () => {
    const floor = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1])
    const image = Number(/^node:(\d+)/.exec(readDockerfile().stages[0]?.base ?? '')?.[1])
    const lts = []
    for (let major = floor; major <= image; major += 2) lts.push(major)
    expect(test.strategy?.matrix.node).toEqual(lts)
  })

  it('installs the redis-server the rate-limit tests start', () => {
    expect(runs('test')).toMatch(/apt-get install .*redis-server/)
  })
})

describe('the docker job', () => {
  it('builds the image from the repository root and runs it locked down', () => {
    const build = jobs.docker?.steps.find(s => s.uses?.startsWith('docker/build-push-action@'))
    expect(build?.with).toMatchObject({ context: '.', load: true })
    expect(runs('docker')).toMatch(/docker run -d[^\n]*\\\n\s+--read-only --cap-drop ALL --security-opt no-new-privileges/)
    expect(runs('docker')).toContain('-e SLUICE_HOST=0.0.0.0')
  })

  it('validates the baked-in policies and waits for /healthz and /readyz on the admin port', () => {
    expect(runs('docker')).toContain('docker run --rm sluice:ci validate')
    expect(runs('docker')).toContain('http://127.0.0.1:9090/healthz')
    expect(runs('docker')).toContain('http://127.0.0.1:9090/readyz')
  })
})

describe('the helm job', () => {
  it('lints and renders charts that exist', () => {
    const text = runs('helm')
    expect(text).toContain('helm lint --strict helm/sluice')
    expect(text).toContain('--set standalone.enabled=true')
    for (const m of text.matchAll(/helm (?:lint|template|dependency build)(?: --strict)? (?:\S+ )?((?:helm|test)\/\S+)/g)) {
      expect(existsSync(join(ROOT, m[1] as string, 'Chart.yaml')), m[1]).toBe(true)
    }
  })

  it('checks the sidecar\'s listeners: proxy on loopback, httpGet probes on 0.0.0.0, bash probes for a loopback adminHost', () => {
    const text = runs('helm')
    expect(text).toContain('helm template payments test/packaging/fixtures/app-chart --set sluice.adminHost=127.0.0.1 > rendered/app-admin-loopback.yaml')
    expect(text).toContain('grep -A1 \'name: SLUICE_HOST$\' rendered/app.yaml | grep -q \'"127.0.0.1"\'')
    expect(text).toContain('grep -A1 \'name: SLUICE_ADMIN_HOST$\' rendered/app.yaml | grep -q \'"0.0.0.0"\'')
    expect(text).toContain('grep -q \'httpGet:\' rendered/app.yaml')
    expect(text).toContain('grep -q \'/dev/tcp\' rendered/app-admin-loopback.yaml')
  })

  it('never checks with a negated command, which bash -e lets pass', () => {
    for (const line of runs('helm').split('\n')) expect(line.trim()).not.toMatch(/^! /)
  })

  it('checks everything it renders against the Kubernetes schemas, and the Prometheus Operator kinds against their CRDs\'', () => {
    expect(runs('helm')).toMatch(/cat rendered\/\*\.yaml \| docker run --rm -i ghcr\.io\/yannh\/kubeconform:v[\d.]+ -strict/)
    expect(runs('helm')).toMatch(/-schema-location default \\\n\s+-schema-location '[^']*\{\{\.Group\}\}\/\{\{\.ResourceKind\}\}_\{\{\.ResourceAPIVersion\}\}\.json'/)
  })

  it('greps the secured-Redis render in standalone mode, where the container is rendered', () => {
    const render = /helm template sluice helm\/sluice([^>]*)> rendered\/redis-secured\.yaml/.exec(runs('helm'))
    expect(render?.[1]).toContain('--set standalone.enabled=true')
  })

  it('renders the monitors, the alerts, the dashboard and the TLS mounts, and sees the schema refuse a typo', () => {
    const text = runs('helm')
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'PodMonitor']) expect(text).toContain(`grep -q 'kind: ${kind}'`)
    expect(text).toContain('grep -q \'grafana_dashboard: "1"\'')
    expect(text).toContain('name: SLUICE_CA_FILE$')
    expect(text).toMatch(/for bad in standalone\.enable=true ports\.proxy=abc logLevel=verbose; do/)
  })
})
