// Rendered manifests checked against the Kubernetes API, strictly, without a
// cluster. Two checks, both from the kubernetes-models packages, which are
// generated from the Kubernetes OpenAPI spec and from the Prometheus Operator
// CRDs' schemas:
//  - each model's validate(): types, required fields, enums, formats;
//  - unknown fields: those validators let any extra field through, as the API
//    server does, but kubectl --validate=strict and kubeconform -strict do
//    not. The objects are type-checked by TypeScript as object literals of
//    the models' interfaces, and an object literal may only specify known
//    properties, at every level.
import { join } from 'node:path'
import ts from 'typescript'
import type { Values } from './chart.js'
import { ROOT } from './dockerfile.js'

interface Kind { module: string, name: string }

// apiVersion/kind -> where its model lives. A kind the chart starts to
// render must be added here: an unknown one fails the check.
const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', name: 'ConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', name: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', name: 'Deployment' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', name: 'PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', name: 'NetworkPolicy' },
  'monitoring.coreos.com/v1/ServiceMonitor': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', name: 'ServiceMonitor' },
  'monitoring.coreos.com/v1/PodMonitor': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor', name: 'PodMonitor' },
  'monitoring.coreos.com/v1/PrometheusRule': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule', name: 'PrometheusRule' },
}

function kindOf (doc: Values): Kind {
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`
  const kind = KINDS[key]
  if (kind === undefined) throw new Error(`no schema known for ${key}: add its kubernetes-models model to KINDS`)
  return kind
}

const label = (doc: Values): string => `${String(doc.kind)} ${String((doc.metadata as Values | undefined)?.name)}`

interface Validatable { validate (): void }

/** Problems of the models' own validators (types, required, enums, formats). */
async function modelProblems (docs: Values[]): Promise<string[]> {
  const problems: string[] = []
  for (const doc of docs) {
    const kind = kindOf(doc)
    const mod = await import(kind.module) as Record<string, new (data: unknown) => Validatable>
    const Model = mod[kind.name]
    if (Model === undefined) throw new Error(`${kind.module} exports no ${kind.name}`)
    try {
      new Model(doc).validate()
    } catch (err) {
      problems.push(`${label(doc)}: ${(err as Error).message}`)
    }
  }
  return problems
}

const FILE = join(ROOT, 'test/packaging/__rendered_manifests__.ts')
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
}

// The models' declaration files, parsed once for every check in this process.
const declarations = new Map<string, ts.SourceFile | undefined>()

/** Problems TypeScript finds in the objects as literals of their models' interfaces: unknown fields above all. */
function typeProblems (docs: Array<{ owner: string, doc: Values }>): Array<{ owner: string, problem: string }> {
  const lines: string[] = []
  const owner: string[] = []
  docs.forEach(({ doc }, i) => {
    lines.push(`import type { I${kindOf(doc).name} as T${i} } from '${kindOf(doc).module}'`)
  })
  docs.forEach(({ owner: who, doc }, i) => {
    const start = lines.length
    lines.push(...`export const o${i}: T${i} = ${JSON.stringify(doc, null, 1)}`.split('\n'))
    for (let l = start; l < lines.length; l++) owner[l] = `${who}: ${label(doc)}`
  })
  const source = lines.join('\n')
  const host = ts.createCompilerHost(OPTIONS)
  const readFile = host.readFile.bind(host)
  const getSourceFile = host.getSourceFile.bind(host)
  host.readFile = (name) => name === FILE ? source : readFile(name)
  host.fileExists = (name) => name === FILE || ts.sys.fileExists(name)
  host.getSourceFile = (name, lang, onError, create) => {
    if (name === FILE) return ts.createSourceFile(name, source, lang, true)
    if (!declarations.has(name)) declarations.set(name, getSourceFile(name, lang, onError, create))
    return declarations.get(name)
  }
  const program = ts.createProgram([FILE], OPTIONS, host)
  return ts.getPreEmitDiagnostics(program).map(d => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    if (d.file === undefined || d.start === undefined) return { owner: '', problem: message }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const who = owner[line] ?? d.file.fileName
    return { owner: who.split(': ')[0] ?? '', problem: `${who} (${lines[line]?.trim()}): ${message}` }
  })
}

/**
 * Every problem of the rendered objects against their Kubernetes schemas, by
 * case (one TypeScript program for all of them: it takes seconds to start);
 * a case's list is empty when all its objects conform.
 */
export async function kubeProblems (cases: Record<string, Values[]>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  const all: Array<{ owner: string, doc: Values }> = []
  for (const [name, docs] of Object.entries(cases)) {
    out[name] = (await modelProblems(docs)).map(p => `${name}: ${p}`)
    for (const doc of docs) all.push({ owner: name, doc })
  }
  for (const { owner, problem } of typeProblems(all)) (out[owner] ??= []).push(problem)
  return out
}
