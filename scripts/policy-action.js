#!/usr/bin/env node
// The GitHub Action's work (action.yml runs it): on a pull request, validate the
// policy folder as annotations, diff it against the base branch's, write the
// diff to the job summary and, when asked, to one pull-request comment that
// later runs update in place. Plain Node, no dependency: it drives the built
// CLI and GitHub's REST API, both through what the runner sets in the environment.
//
// Inputs (env): INPUT_POLICIES (folder, relative to the checkout; default policies),
// INPUT_BASE_REF (default GITHUB_BASE_REF), INPUT_COMMENT ("true"), INPUT_TOKEN.
// From the runner: GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH,
// GITHUB_REPOSITORY, GITHUB_API_URL. SLUICE_CLI overrides the CLI (dist/cli.js).
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Finds the comment this action wrote before, among the pull request's comments. */
export const MARKER = '<!-- sluice-policy-diff -->'

export async function main (env = process.env, out = process.stdout) {
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const policies = env.INPUT_POLICIES || 'policies'
  const baseRef = env.INPUT_BASE_REF || env.GITHUB_BASE_REF || ''
  const cli = env.SLUICE_CLI || fileURLToPath(new URL('../dist/cli.js', import.meta.url))
  const sluice = (args) => spawnSync(process.execPath, [cli, ...args], { cwd: workspace, encoding: 'utf8', maxBuffer: 64 << 20 })

  // 1. Annotations on the pull request's lines; the runner reads them from stdout.
  const validate = sluice(['validate', '--format', 'github', policies])
  out.write(validate.stdout)
  if (validate.stderr) out.write(validate.stderr)
  const valid = validate.status === 0

  // 2. The base branch's policies, as files in a scratch folder.
  let section
  let diffOk = true
  const scratch = mkdtempSync(join(tmpdir(), 'sluice-action-'))
  try {
    const base = baseRef === '' ? undefined : extractBase(workspace, baseRef, policies, scratch)
    if (base === undefined) {
      section = baseRef === '' ? 'No base branch to compare with (not a pull request).' : `No \`${policies}\` on \`${baseRef}\`: every vendor is new.`
    } else if (!valid) {
      section = 'The policies do not validate: see the annotations. The diff follows once they do.'
    } else {
      const diff = sluice(['diff', base, policies, '--format', 'markdown'])
      if (diff.status === 0) {
        section = diff.stdout.trim()
        out.write(sluice(['diff', base, policies]).stdout)
      } else if (diff.status === 1) {
        // This side validated, so the base's policies do not load: a pull request that fixes them must pass.
        section = `The policies on \`${baseRef}\` do not load, so there is nothing to compare with:\n\n\`\`\`\n${scrubPaths(diff.stderr, base)}\n\`\`\``
      } else {
        diffOk = false
        section = `sluice diff failed:\n\n\`\`\`\n${(diff.stderr || '').trim()}\n\`\`\``
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  const status = valid ? `\`${policies}\`: valid.` : `\`${policies}\`: **invalid** (${countErrors(validate.stdout)} problems, shown as annotations).`
  const body = `${MARKER}\n${status}\n\n${section.startsWith('###') ? section : `### sluice policy diff\n\n${section}`}\n`

  // 3. The job summary, and the pull-request comment if asked for.
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, body)
  if (env.INPUT_COMMENT === 'true') {
    if (!env.INPUT_TOKEN) out.write('::warning::comment: true needs a token (with: token: ${{ secrets.GITHUB_TOKEN }}); no comment written\n')
    else {
      const number = pullRequestNumber(env.GITHUB_EVENT_PATH)
      if (number === undefined) out.write('::notice::not a pull request: no comment written\n')
      else {
        try {
          await upsertComment({ api: env.GITHUB_API_URL || 'https://api.github.com', repo: env.GITHUB_REPOSITORY, token: env.INPUT_TOKEN, number, body })
        } catch (err) {
          // A pull request from a fork gets a read-only token: the summary still has the diff.
          out.write(`::warning::no pull-request comment written: ${err.message}\n`)
        }
      }
    }
  }
  return valid && diffOk ? 0 : 1
}

/** The policy folder as of `ref`, written under `scratch`; undefined when `ref` has none. */
function extractBase (workspace, ref, policies, scratch) {
  const git = (...args) => execFileSync('git', ['-C', workspace, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
  let commit
  for (const candidate of [`origin/${ref}`, ref]) {
    try {
      commit = git('rev-parse', '--verify', '--quiet', `${candidate}^{commit}`).trim()
      break
    } catch {}
  }
  if (commit === undefined) throw new Error(`base ref ${ref} not found: check out with fetch-depth: 0 (actions/checkout)`)
  const folder = relative(workspace, join(workspace, policies)) || '.'
  // The loader reads a folder's own *.yaml/*.yml, not its subfolders.
  const files = git('ls-tree', '-r', '--name-only', commit, '--', folder).split('\n')
    .filter(f => /\.ya?ml$/.test(f) && (f === folder || !relative(folder, f).includes('/')))
  if (files.length === 0) return undefined
  const root = join(scratch, 'base')
  for (const file of files) {
    const target = join(root, relative(folder, file))
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, execFileSync('git', ['-C', workspace, 'show', `${commit}:${file}`], { maxBuffer: 64 << 20 }))
  }
  // A single policy file stays a single file; a folder stays a folder.
  return files.length === 1 && files[0] === folder ? join(root, relative(folder, files[0])) : root
}

/** The scratch folder's name out of the base's problems: they read as `<base>/stripe.yaml:3:1: ...`. */
function scrubPaths (text, base) {
  return (text || '').trim().split(base).join('<base>')
}

function countErrors (annotations) {
  return annotations.split('\n').filter(l => l.startsWith('::error ')).length
}

function pullRequestNumber (eventPath) {
  if (!eventPath) return undefined
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8'))
    return event.pull_request?.number ?? event.number
  } catch {
    return undefined
  }
}

/** One comment per pull request: the one with MARKER is edited, else one is created. */
async function upsertComment ({ api, repo, token, number, body }) {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json', 'content-type': 'application/json', 'user-agent': 'sluice-policy-action' }
  const call = async (method, path, payload) => {
    const res = await fetch(`${api}${path}`, { method, headers, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) })
    if (!res.ok) throw new Error(`GitHub API ${method} ${path}: ${res.status}`)
    return await res.json()
  }
  let existing
  for (let page = 1; existing === undefined; page++) {
    const comments = await call('GET', `/repos/${repo}/issues/${number}/comments?per_page=100&page=${page}`)
    existing = comments.find(c => typeof c.body === 'string' && c.body.startsWith(MARKER))
    if (comments.length < 100) break
  }
  if (existing !== undefined) await call('PATCH', `/repos/${repo}/issues/comments/${existing.id}`, { body })
  else await call('POST', `/repos/${repo}/issues/${number}/comments`, { body })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(code => { process.exitCode = code }, err => {
    process.stdout.write(`::error::${String(err.message).replace(/\n/g, ' ')}\n`)
    process.exitCode = 1
  })
}
