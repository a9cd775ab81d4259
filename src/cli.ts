#!/usr/bin/env node
// sluice start | validate | explain | schema (SPEC section 1).
import { parseArgs } from 'node:util'
import { createLogger, type Logger } from './observability/logger.js'
import { formatProblem, loadPolicies, validatePath } from './policy/load.js'
import { explainPolicy } from './policy/explain.js'
import { policyJsonSchema } from './policy/print-schema.js'
import { resolveReference } from './credentials/index.js'
import { PolicyLoadError, startSluice } from './server.js'
import { SettingsError, loadSettings, DEFAULT_SETTINGS } from './settings.js'
import { jobsCommand, JOBS_USAGE } from './jobs/cli.js'

const USAGE = `usage:
  sluice start    [--policies DIR|FILE] [--port N] [--host ADDR] [--admin-port N] [--admin-host ADDR] [--redis URL] [--log-level LEVEL]
  sluice validate [DIR|FILE] [--resolve-secrets]
  sluice explain  [DIR|FILE] [--vendor NAME]
  sluice schema   (prints the policy JSON Schema)
${JOBS_USAGE}`

/** how long a stop waits for stdout to take the last log lines */
const EXIT_LOG_WAIT_MS = 2000

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'start': return await start(rest)
    case 'validate': return await validate(rest)
    case 'explain': return await explain(rest)
    case 'jobs': return await jobsCommand(rest)
    case 'schema':
      process.stdout.write(JSON.stringify(policyJsonSchema(), null, 2) + '\n')
      return 0
    case '--help': case '-h': case 'help':
      process.stdout.write(USAGE + '\n')
      return 0
    default:
      process.stderr.write(`${command === undefined ? 'no command given' : `unknown command "${command}"`}\n${USAGE}\n`)
      return 2
  }
}

async function start (args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      policies: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string' },
      redis: { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  })
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

async function validate (args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'resolve-secrets': { type: 'boolean' } }, allowPositionals: true })
  const path = positionals[0] ?? process.env.SLUICE_POLICIES ?? DEFAULT_SETTINGS.policies
  const problems = await validatePath(path, values['resolve-secrets'] === true ? { resolveSecrets: (ref) => resolveReference(ref) } : {})
  for (const p of problems) process.stdout.write(formatProblem(p) + '\n')
  if (problems.length > 0) return 1
  process.stdout.write(`${path}: valid\n`)
  return 0
}

async function explain (args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { vendor: { type: 'string' } }, allowPositionals: true })
  const path = positionals[0] ?? process.env.SLUICE_POLICIES ?? DEFAULT_SETTINGS.policies
  const { set, problems } = await loadPolicies(path)
  if (set === undefined) {
    for (const p of problems) process.stderr.write(formatProblem(p) + '\n')
    return 1
  }
  const vendors = set.vendors.filter(v => values.vendor === undefined || v.vendor === values.vendor)
  if (vendors.length === 0) {
    process.stderr.write(`no vendor named "${values.vendor}" in ${path}\n`)
    return 1
  }
  process.stdout.write(JSON.stringify(vendors.map(explainPolicy), null, 2) + '\n')
  return 0
}

main(process.argv.slice(2)).then(code => {
  if (code >= 0) process.exitCode = code
}, (err: unknown) => {
  if (err instanceof SettingsError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    process.exitCode = 2
    return
  }
  process.stderr.write(`sluice: ${(err as Error).message}\n`)
  process.exitCode = 1
})
