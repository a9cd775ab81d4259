#!/usr/bin/env node
// sluice start | validate | explain | diff | replay | schema (README "Run it"). Exit codes: 0 done,
// 1 the input is invalid (or sluice cannot start), 2 the command line is wrong.
import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { createLogger, type Logger } from './observability/logger.js'
import { formatProblem, githubAnnotation, loadPolicies, validatePath } from './policy/load.js'
import { explainPolicy } from './policy/explain.js'
import { diffPolicies } from './policy/diff.js'
import { DIFF_FORMATS, formatDiff, type DiffFormat } from './policy/diff-format.js'
import { policyJsonSchema } from './policy/print-schema.js'
import type { PolicySet } from './policy/types.js'
import { resolveReference } from './credentials/index.js'
import { runReplay, REPLAY_FORMATS, type ReplayFormat } from './replay/command.js'
import { PolicyLoadError, startSluice } from './server.js'
import { SettingsError, loadSettings, DEFAULT_SETTINGS } from './settings.js'
import { JOBS_OPTIONS, JOBS_USAGE, runJobs } from './jobs/cli.js'

type Options = NonNullable<ParseArgsConfig['options']>

interface Command {
  usage: string
  /** one line for `sluice --help` */
  summary: string
  options: Options
  positionals: 'none' | 'some'
  run: (values: Record<string, string | boolean | undefined>, positionals: string[]) => Promise<number>
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the proxy and the admin listener',
    usage: `sluice start [--policies DIR|FILE] [--port N] [--host ADDR] [--admin-port N] [--admin-host ADDR] [--redis URL] [--log-level LEVEL]

  --policies DIR|FILE  a folder of *.yaml/*.yml policies, or one file (SLUICE_POLICIES, default ./policies)
  --port N             proxy listener; 0 picks a free port (SLUICE_PORT, default 8080)
  --host ADDR          proxy bind address (SLUICE_HOST, default 127.0.0.1)
  --admin-port N       metrics and health listener; 0 picks a free port (SLUICE_ADMIN_PORT, default 9090)
  --admin-host ADDR    admin bind address (SLUICE_ADMIN_HOST, default the proxy's)
  --redis URL          redis:// or rediss:// URL; unset = in-memory buckets (SLUICE_REDIS_URL)
  --log-level LEVEL    fatal, error, warn, info, debug, trace or silent (SLUICE_LOG_LEVEL, default info)

Flags win over the SLUICE_* environment; README.md lists every variable.`,
    options: {
      policies: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string' },
      redis: { type: 'string' },
      'log-level': { type: 'string' },
    },
    positionals: 'none',
    run: async (values) => await start(values as Record<string, string | undefined>),
  },
  validate: {
    summary: 'check policies: every problem of every file, then warnings',
    usage: `sluice validate [DIR|FILE ...] [--resolve-secrets] [--format text|github]

  DIR|FILE           policy sets to check, each on its own (default SLUICE_POLICIES or ./policies)
  --resolve-secrets  also check that every \${env:...} and \${file:...} reference resolves here
  --format FORMAT    text: FILE:LINE:COL: message (default); github: Actions annotations

Exit 0 when valid (warnings alone included), 1 on any error.`,
    options: { 'resolve-secrets': { type: 'boolean' }, format: { type: 'string', default: 'text' } },
    positionals: 'some',
    run: validate,
  },
  explain: {
    summary: 'print the effective policies after defaults, secrets masked',
    usage: `sluice explain [DIR|FILE] [--vendor NAME]

  DIR|FILE       the policy set (default SLUICE_POLICIES or ./policies)
  --vendor NAME  only this vendor`,
    options: { vendor: { type: 'string' } },
    positionals: 'some',
    run: explain,
  },
  diff: {
    summary: 'say in plain words what a policy change does, risks marked',
    usage: `sluice diff OLD NEW [--format text|markdown|json]

  OLD, NEW         the policy sets before and after (folders or files)
  --format FORMAT  text (default), markdown (for a pull-request comment) or json

Exit 0 with the changes, 1 when either side is invalid.`,
    options: { format: { type: 'string', default: 'text' } },
    positionals: 'some',
    run: diff,
  },
  replay: {
    summary: 'replay logged calls through policies on a simulated clock',
    usage: `sluice replay --policies DIR --log FILE [--compare DIR2] [--format text|json]

  --policies DIR   the policy set to replay through
  --log FILE       sluice's JSON log (lines with "msg":"request"; other lines are skipped); - for stdin
  --compare DIR2   a second policy set, shown side by side
  --format FORMAT  text (default) or json

Per vendor and bucket: calls, allowed, queued (p50/p99 wait), refused (429), not allowed (403).`,
    options: { policies: { type: 'string' }, log: { type: 'string' }, compare: { type: 'string' }, format: { type: 'string', default: 'text' } },
    positionals: 'none',
    run: replay,
  },
  jobs: {
    summary: 'list, show, retry or drop asynchronous jobs (through the admin API)',
    usage: JOBS_USAGE,
    options: JOBS_OPTIONS,
    positionals: 'some',
    run: runJobs,
  },
  schema: {
    summary: 'print the policy JSON Schema',
    usage: 'sluice schema\n\nPrints the JSON Schema of a vendor policy file (editors use it through yaml-language-server).',
    options: {},
    positionals: 'none',
    run: async () => {
      process.stdout.write(JSON.stringify(policyJsonSchema(), null, 2) + '\n')
      return 0
    },
  },
}

const USAGE = `usage: sluice <command> [options]   (sluice <command> --help for its options)

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join('\n')}

  --version  print the version`

/** A command line that cannot be run as written: exit 2 with the command's usage. */
class UsageError extends Error {
  constructor (message: string, readonly usage: string) {
    super(message)
  }
}

/** how long a stop waits for stdout to take the last log lines */
const EXIT_LOG_WAIT_MS = 2000

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]]
    process.stdout.write(`${topic === undefined ? USAGE : `usage: ${topic.usage}`}\n`)
    return 0
  }
  const command = name === undefined ? undefined : COMMANDS[name]
  if (command === undefined) throw new UsageError(name === undefined ? 'no command given' : `unknown command "${name}"`, USAGE)
  let parsed
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, ...HELP }, allowPositionals: command.positionals === 'some', strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message, `usage: ${command.usage}`)
  }
  if (parsed.values.help === true) {
    process.stdout.write(`usage: ${command.usage}\n`)
    return 0
  }
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals)
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.message, `usage: ${command.usage}`)
    throw err
  }
}

function version (): string {
  // dist/cli.js and src/cli.ts both sit one folder below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function usageOf (name: string): string {
  return `usage: ${(COMMANDS[name] as Command).usage}`
}

function defaultPolicies (): string {
  return process.env.SLUICE_POLICIES ?? DEFAULT_SETTINGS.policies
}

async function start (values: Record<string, string | undefined>): Promise<number> {
  const settings = loadSettings(values)
  const logger = createLogger(settings.logLevel)
  let sluice
  try {
    sluice = await startSluice(settings, logger)
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const p of err.problems) process.stderr.write(formatProblem(p) + '\n')
      logger.fatal({ problems: err.problems.length }, 'invalid policies: not starting')
    } else {
      logger.fatal({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'cannot start')
    }
    logger.flush()
    return 1
  }
  process.on('SIGHUP', () => { sluice.reload().catch(() => {}) })
  const stop = (): void => {
    sluice.drain().then(() => {
      exitAfterLog(logger, 0)
    }, (err: unknown) => {
      logger.error({ err: { message: (err as Error).message } }, 'drain failed')
      exitAfterLog(logger, 1)
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return -1 // keep running
}

/** Exits once the batched log lines are on stdout; a stdout that takes none does not hold the exit for long. */
function exitAfterLog (logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), EXIT_LOG_WAIT_MS).unref()
  logger.flush(() => process.exit(code))
}

function oneOf<T extends string> (flag: string, value: unknown, allowed: readonly T[], command: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new UsageError(`--${flag}: "${String(value)}" is not ${allowed.slice(0, -1).join(', ')}${allowed.length > 2 ? ',' : ''} or ${allowed[allowed.length - 1] as string}`, usageOf(command))
}

async function validate (values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, ['text', 'github'] as const, 'validate')
  const paths = positionals.length > 0 ? positionals : [defaultPolicies()]
  const opts = values['resolve-secrets'] === true ? { resolveSecrets: (ref: string) => resolveReference(ref) } : {}
  let failed = false
  // Each path is its own policy set (a folder, or one file), checked and reported in the order given.
  for (const path of paths) {
    const problems = await validatePath(path, opts)
    const errors = problems.filter(p => p.severity !== 'warning').length
    for (const p of problems) process.stdout.write((format === 'github' ? githubAnnotation(p) : formatProblem(p)) + '\n')
    if (errors > 0) failed = true
    else if (format === 'text') {
      const warnings = problems.length
      process.stdout.write(`${path}: valid${warnings === 0 ? '' : ` (${warnings} warning${warnings === 1 ? '' : 's'})`}\n`)
    }
  }
  return failed ? 1 : 0
}

async function explain (values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  if (positionals.length > 1) throw new UsageError(`explain takes one policy set, got ${positionals.length}`, usageOf('explain'))
  const path = positionals[0] ?? defaultPolicies()
  const set = await loadOrReport(path)
  if (set === undefined) return 1
  const vendors = set.vendors.filter(v => values.vendor === undefined || v.vendor === values.vendor)
  if (vendors.length === 0) {
    process.stderr.write(`no vendor named "${String(values.vendor)}" in ${path}\n`)
    return 1
  }
  process.stdout.write(JSON.stringify(vendors.map(explainPolicy), null, 2) + '\n')
  return 0
}

/** The set, or undefined after printing its problems on stderr. */
async function loadOrReport (path: string): Promise<PolicySet | undefined> {
  const { set, problems } = await loadPolicies(path)
  for (const p of problems) process.stderr.write(formatProblem(p) + '\n')
  return set
}

async function diff (values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const format = oneOf<DiffFormat>('format', values.format, DIFF_FORMATS, 'diff')
  if (positionals.length !== 2) throw new UsageError(`diff takes two policy sets, OLD and NEW (got ${positionals.length})`, usageOf('diff'))
  const [oldPath, newPath] = positionals as [string, string]
  // Both sides are loaded, so both sides' problems are printed.
  const before = await loadOrReport(oldPath)
  const after = await loadOrReport(newPath)
  if (before === undefined || after === undefined) return 1
  process.stdout.write(formatDiff(diffPolicies(before.vendors, after.vendors), format))
  return 0
}

async function replay (values: Record<string, string | boolean | undefined>): Promise<number> {
  const format = oneOf<ReplayFormat>('format', values.format, REPLAY_FORMATS, 'replay')
  const policies = values.policies
  const log = values.log
  if (typeof policies !== 'string') throw new UsageError('--policies is required', usageOf('replay'))
  if (typeof log !== 'string') throw new UsageError('--log is required', usageOf('replay'))
  const sides: PolicySet[] = []
  for (const path of [policies, values.compare]) {
    if (typeof path !== 'string') continue
    const set = await loadOrReport(path)
    if (set === undefined) return 1
    sides.push(set)
  }
  const labels = [policies, ...(typeof values.compare === 'string' ? [values.compare] : [])]
  return await runReplay({ sides: sides.map((set, i) => ({ label: labels[i] as string, set })), log, format, out: process.stdout, err: process.stderr })
}

main(process.argv.slice(2)).then(code => {
  if (code >= 0) process.exitCode = code
}, (err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n${err.usage}\n`)
    process.exitCode = 2
    return
  }
  process.stderr.write(`sluice: ${(err as Error).message}\n`)
  process.exitCode = 1
})
