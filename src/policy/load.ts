// Reads a policy folder (or one file) into a PolicySet, or says exactly what is
// wrong: every problem of every file, each at its FILE:LINE:COL. A set with any
// problem is refused whole (`set` is undefined), so a reload either swaps in a
// fully valid set or keeps the old one. Never throws on any input.
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { compilePolicy } from './compile.js'
import { crossProblems, type LoadedVendor } from './cross-checks.js'
import { applyDefaults } from './defaults.js'
import { fileProblems, mergedProblems } from './field-checks.js'
import type { DefaultsFileInput, PolicyFileInput } from './schema.js'
import { schemaProblems } from './schema-errors.js'
import { secretRefFields } from './secret-refs.js'
import { parseSource, problemOnWritten, type SourceFile } from './source.js'
import { templateProblems } from './template-checks.js'
import type { PolicyProblem, PolicySet } from './types.js'

const POLICY_FILE = /\.ya?ml$/
const DEFAULTS_FILE = /^defaults\.ya?ml$/

export interface LoadResult {
  set: PolicySet | undefined
  problems: PolicyProblem[]
}

/** `FILE:LINE:COL: message`, the one format every problem is printed in. */
export function formatProblem (p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`
}

export async function loadPolicies (path: string): Promise<LoadResult> {
  const { vendors, files, problems } = await loadDetailed(path)
  const set = problems.length === 0 ? { vendors: vendors.map(v => v.policy), files } : undefined
  return { set, problems }
}

export interface ValidateOptions {
  /**
   * Resolves one reference (`${env:X}`) to its value, or undefined when it
   * cannot. Given by `validate --resolve-secrets`; each unresolved reference
   * becomes a problem that names it (never a value).
   */
  resolveSecrets?: (ref: string) => string | undefined
}

/** Everything `sluice validate` prints: load problems, then unresolved secrets if asked. */
export async function validatePath (path: string, opts: ValidateOptions = {}): Promise<PolicyProblem[]> {
  const { vendors, problems } = await loadDetailed(path)
  const resolve = opts.resolveSecrets
  if (resolve === undefined) return problems
  const known = new Map<string, boolean>()
  const resolves = (ref: string): boolean => {
    let ok = known.get(ref)
    if (ok === undefined) {
      try {
        ok = resolve(ref) !== undefined
      } catch {
        ok = false
      }
      known.set(ref, ok)
    }
    return ok
  }
  for (const { policy, src, defaults } of vendors) {
    for (const { path: field, template } of secretRefFields(policy)) {
      for (const ref of template.refs) {
        if (!resolves(ref.text)) {
          problems.push(problemOnWritten(src, defaults, [field], `${field.join('.')}: secret reference ${ref.text} does not resolve`, policy.vendor))
        }
      }
    }
  }
  return problems
}

interface Detailed {
  vendors: LoadedVendor[]
  files: string[]
  problems: PolicyProblem[]
}

async function loadDetailed (path: string): Promise<Detailed> {
  const problems: PolicyProblem[] = []
  const { files: listed, folder } = await listFiles(path, problems)
  // defaults.yaml given alone is checked as a defaults file, for a PR that edits only it.
  const defaultsFiles = listed.filter(f => DEFAULTS_FILE.test(basename(f)))
  const vendorFiles = listed.filter(f => !defaultsFiles.includes(f))
  for (const extra of defaultsFiles.slice(1)) {
    problems.push({ file: extra, line: 1, col: 1, message: `only one defaults file per folder (also ${defaultsFiles[0] as string})` })
  }

  let defaults: { src: SourceFile, value: DefaultsFileInput } | undefined
  let defaultsOk = true
  const defaultsFile = defaultsFiles[0]
  if (defaultsFile !== undefined) {
    const src = await readSource(defaultsFile)
    const own = checkFile(src, 'defaults')
    problems.push(...own)
    defaultsOk = own.length === 0
    if (defaultsOk) defaults = { src, value: src.value as DefaultsFileInput }
  }

  const vendors: LoadedVendor[] = []
  for (const file of vendorFiles) {
    const src = await readSource(file)
    const own = checkFile(src, 'vendor')
    problems.push(...own)
    // Rules between fields, and compiling, need trustworthy defaults too.
    if (own.length > 0 || !defaultsOk) continue
    const effective = applyDefaults(src.value as PolicyFileInput, defaults?.value)
    const merged = mergedProblems(effective, src, defaults?.src)
    problems.push(...merged)
    if (merged.length > 0) continue
    try {
      vendors.push({ policy: compilePolicy(effective, file), src, defaults: defaults?.src })
    } catch (err) {
      // Only a check missing above can get here; say so rather than crash.
      problems.push({ file, line: 1, col: 1, message: `internal error compiling the policy: ${(err as Error).message}` })
    }
  }
  problems.push(...crossProblems(vendors))
  if (folder && listed.length > 0 && vendorFiles.length === 0) {
    problems.push({ file: path, line: 1, col: 1, message: 'no vendor policy files in this folder, only defaults' })
  }
  return { vendors, files: listed, problems: sortProblems(problems, listed) }
}

/** In file order, then top to bottom within a file, as an editor would walk them. */
function sortProblems (problems: PolicyProblem[], files: string[]): PolicyProblem[] {
  const rank = (file: string): number => {
    const i = files.indexOf(file)
    return i === -1 ? -1 : i
  }
  return problems.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.col - b.col)
}

function checkFile (src: SourceFile, kind: 'vendor' | 'defaults'): PolicyProblem[] {
  if (src.problems.length > 0) return src.problems
  const schema = schemaProblems(src, kind)
  const templates = templateProblems(src)
  if (schema.length > 0) return [...schema, ...templates]
  return [...fileProblems(src, src.value as DefaultsFileInput & { upstream?: string }), ...templates]
}

async function readSource (file: string): Promise<SourceFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const src = parseSource(file, '')
    src.problems = [{ file, line: 1, col: 1, message: `cannot read: ${reason(err)}` }]
    return src
  }
  // A UTF-8 byte order mark is not part of the YAML.
  return parseSource(file, text.startsWith('\uFEFF') ? text.slice(1) : text)
}

/** The policy files under `path`, sorted: a folder's *.yaml/*.yml (not recursive), or the one file. */
async function listFiles (path: string, problems: PolicyProblem[]): Promise<{ files: string[], folder: boolean }> {
  let names: string[]
  try {
    if (!(await stat(path)).isDirectory()) return { files: [path], folder: false }
    names = await readdir(path)
  } catch (err) {
    problems.push({ file: path, line: 1, col: 1, message: `cannot read: ${reason(err)}` })
    return { files: [], folder: false }
  }
  const files: string[] = []
  // Hidden names skip the ..data links and dot-folders of a Kubernetes ConfigMap mount.
  for (const name of names.filter(n => POLICY_FILE.test(n) && !n.startsWith('.')).sort()) {
    const file = join(path, name)
    const entry = await stat(file).catch(() => undefined)
    if (entry?.isFile() === true) files.push(file)
  }
  if (files.length === 0) problems.push({ file: path, line: 1, col: 1, message: 'no policy files (*.yaml, *.yml) in this folder' })
  return { files, folder: true }
}

function reason (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'no such file or folder'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'is a folder'
  return code ?? 'unknown error'
}
