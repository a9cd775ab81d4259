// Reads a policy folder (or one file) into a PolicySet, or says exactly what is
// wrong: every problem of every file, each at its FILE:LINE:COL. A set with any
// problem is refused whole (`set` is undefined), so a reload either swaps in a
// fully valid set or keeps the old one. Never throws on any input.
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { compilePolicy } from './compile.js'
import { crossProblems, type LoadedVendor, type RoutedVendor } from './cross-checks.js'
import { applyDefaults } from './defaults.js'
import { fileProblems, mergedProblems } from './field-checks.js'
import type { DefaultsFileInput, PolicyFileInput } from './schema.js'
import { pruneInvalid, schemaProblems } from './schema-errors.js'
import { secretRefFields } from './secret-refs.js'
import { containedPath, parseSource, problemOnWritten, type SourceFile } from './source.js'
import { templateProblems } from './template-checks.js'
import { policyWarnings } from './warnings.js'
import type { PolicyProblem, PolicySet } from './types.js'

const POLICY_FILE = /\.ya?ml$/
const DEFAULTS_FILE = /^defaults\.ya?ml$/

export interface LoadResult {
  set: PolicySet | undefined
  /** the errors: any of them refuses the set */
  problems: PolicyProblem[]
  /** risky settings that do not refuse the set */
  warnings: PolicyProblem[]
}

/** `FILE:LINE:COL: message` (`FILE:LINE:COL: warning: message`), the one format every problem is printed in. */
export function formatProblem (p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`
}

/** The problem as a GitHub Actions workflow command: an annotation on the file's line in the pull request. */
export function githubAnnotation (p: PolicyProblem): string {
  // Workflow commands end at a newline; properties also at "," and ":".
  const data = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  const prop = (s: string): string => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
  return `::${p.severity === 'warning' ? 'warning' : 'error'} file=${prop(p.file)},line=${p.line},col=${p.col}::${data(p.message)}`
}

export async function loadPolicies (path: string): Promise<LoadResult> {
  const { vendors, files, problems: all } = await loadDetailed(path)
  const problems = all.filter(p => p.severity !== 'warning')
  const warnings = all.filter(p => p.severity === 'warning')
  const set = problems.length === 0 ? { vendors: vendors.map(v => v.policy), files } : undefined
  return { set, problems, warnings }
}

export interface ValidateOptions {
  /**
   * Resolves one reference (`${env:X}`) to its value, or undefined when it
   * cannot. Given by `validate --resolve-secrets`; each unresolved reference
   * becomes a problem that names it (never a value).
   */
  resolveSecrets?: (ref: string) => string | undefined
}

/**
 * Everything `sluice validate` prints, errors and warnings (`severity`) in file
 * then line order: load problems, and unresolved secrets if asked.
 */
export async function validatePath (path: string, opts: ValidateOptions = {}): Promise<PolicyProblem[]> {
  const { vendors, files, problems } = await loadDetailed(path)
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
  return sortProblems(problems, files)
}

interface Detailed {
  vendors: LoadedVendor[]
  files: string[]
  problems: PolicyProblem[]
}

async function loadDetailed (path: string): Promise<Detailed> {
  const problems: PolicyProblem[] = []
  const { files: listed, folder } = await listFiles(path, problems)
  const readSource = (file: string): Promise<SourceFile> => readContained(file, path, !folder)
  // defaults.yaml given alone is checked as a defaults file, for a PR that edits only it.
  const defaultsFiles = listed.filter(f => DEFAULTS_FILE.test(basename(f)))
  const vendorFiles = listed.filter(f => !defaultsFiles.includes(f))
  for (const extra of defaultsFiles.slice(1)) {
    problems.push({ file: extra, line: 1, col: 1, message: `only one defaults file per folder (also ${defaultsFiles[0] as string})` })
  }

  // Every check runs on every file, even one with problems, so that one run
  // reports everything: a field the schema refuses is left out of the later
  // checks (its default stands in), the rest of the file is still checked.
  let defaults: { src: SourceFile, value: DefaultsFileInput } | undefined
  const defaultsFile = defaultsFiles[0]
  if (defaultsFile !== undefined) {
    const src = await readSource(defaultsFile)
    const own = checkFile(src, 'defaults')
    problems.push(...own.problems)
    if (own.value !== undefined) defaults = { src, value: own.value as DefaultsFileInput }
  }

  const vendors: LoadedVendor[] = []
  const routed: RoutedVendor[] = []
  const refused = new Set<string>()
  for (const file of vendorFiles) {
    const src = await readSource(file)
    const own = checkFile(src, 'vendor')
    problems.push(...own.problems)
    if (own.value === undefined) continue
    const clean = own.problems.length === 0
    // A field the schema refused has its default in the later checks: a rule
    // that then fails on it (at the same place) says nothing new.
    for (const p of own.problems) refused.add(at(p))
    let effective
    try {
      effective = applyDefaults(own.value as PolicyFileInput, defaults?.value)
      problems.push(...mergedProblems(effective, src, defaults?.src).filter(p => !refused.has(at(p))))
    } catch (err) {
      if (clean) problems.push({ file, line: 1, col: 1, message: `internal error checking the policy: ${(err as Error).message}` })
      continue
    }
    try {
      const policy = compilePolicy(effective, file)
      vendors.push({ policy, src, defaults: defaults?.src })
      routed.push({ policy, src, defaults: defaults?.src })
      problems.push(...policyWarnings(policy, src, defaults?.src))
    } catch (err) {
      // A file with problems may lack what compiling needs (its upstream); a
      // clean one getting here means a check is missing above: say so rather than crash.
      if (clean) problems.push({ file, line: 1, col: 1, message: `internal error compiling the policy: ${(err as Error).message}` })
      else if (typeof effective.vendor === 'string') {
        const routes = { prefix: effective.routes.prefix ?? `/${effective.vendor}`, hosts: effective.routes.hosts.map(h => h.toLowerCase()) }
        routed.push({ policy: { vendor: effective.vendor, routes }, src, defaults: defaults?.src })
      }
    }
  }
  problems.push(...crossProblems(routed).filter(p => !refused.has(at(p))))
  if (folder && listed.length > 0 && vendorFiles.length === 0) {
    problems.push({ file: path, line: 1, col: 1, message: 'no vendor policy files in this folder, only defaults' })
  }
  return { vendors, files: listed, problems: sortProblems(problems, listed) }
}

function at (p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}`
}

/** In file order, then top to bottom within a file, as an editor would walk them. */
function sortProblems (problems: PolicyProblem[], files: string[]): PolicyProblem[] {
  const rank = (file: string): number => {
    const i = files.indexOf(file)
    return i === -1 ? -1 : i
  }
  return problems.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.col - b.col)
}

/**
 * A file's own problems (YAML, schema, field rules), and its value with every
 * field the schema refused taken out (undefined when nothing usable is left),
 * so the field rules and the later checks still run on the rest.
 */
function checkFile (src: SourceFile, kind: 'vendor' | 'defaults'): { problems: PolicyProblem[], value: unknown } {
  if (src.problems.length > 0) return { problems: src.problems, value: undefined }
  const schema = schemaProblems(src, kind)
  const templates = templateProblems(src)
  const value = schema.length === 0 ? src.value : pruneInvalid(src.value, kind)
  if (value === undefined) return { problems: [...schema, ...templates], value }
  let own: PolicyProblem[]
  try {
    own = fileProblems(src, value as DefaultsFileInput & { upstream?: string })
  } catch {
    // A value the pruning missed: the schema problems already say what is wrong.
    own = []
  }
  return { problems: [...schema, ...own, ...templates], value }
}

async function readContained (file: string, root: string, rootIsFile: boolean): Promise<SourceFile> {
  let text: string
  try {
    const real = await containedPath(file, root, rootIsFile)
    if (real === undefined) {
      const src = parseSource(file, '')
      src.problems = [{ file, line: 1, col: 1, message: 'a symbolic link that leads outside the policy folder: not read' }]
      return src
    }
    text = await readFile(real, 'utf8')
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
  if (code === 'ELOOP') return 'a loop of symbolic links'
  return code ?? 'unknown error'
}
