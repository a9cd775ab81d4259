// The GitHub Action's script (scripts/policy-action.js) run as the runner runs
// it: a fake GITHUB_* environment, a local git repository whose base branch
// and pull-request branch differ, and a local HTTP server standing in for the
// GitHub API (GITHUB_API_URL). Two runs: the first writes one comment, the
// second edits that same comment.
import { execFile, execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI } from '../helpers/sluice.js'

const SCRIPT = fileURLToPath(new URL('../../scripts/policy-action.js', import.meta.url))
const TOKEN = 'ghs_fake_token_for_the_test'

interface Comment { id: number, body: string }
const comments: Comment[] = [{ id: 1, body: 'an unrelated comment by someone' }]
const seen: Array<{ method: string, url: string, auth: string | undefined }> = []
let api: Server
let apiUrl: string
let repo: string

function git (...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' },
  })
}

beforeAll(async () => {
  api = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      seen.push({ method: req.method as string, url: req.url as string, auth: req.headers.authorization })
      res.setHeader('content-type', 'application/json')
      if (req.method === 'GET' && req.url?.startsWith('/repos/o/r/issues/7/comments')) return res.end(JSON.stringify(comments))
      if (req.method === 'POST' && req.url === '/repos/o/r/issues/7/comments') {
        const c = { id: comments.length + 1, body: (JSON.parse(body) as { body: string }).body }
        comments.push(c)
        res.statusCode = 201
        return res.end(JSON.stringify(c))
      }
      const patch = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(req.url ?? '')
      const target = comments.find(c => c.id === Number(patch?.[1]))
      if (req.method === 'PATCH' && target !== undefined) {
        target.body = (JSON.parse(body) as { body: string }).body
        return res.end(JSON.stringify(target))
      }
      res.statusCode = 404
      res.end('{}')
    })
  })
  await new Promise<void>(resolve => api.listen(0, '127.0.0.1', resolve))
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`

  repo = mkdtempSync(join(tmpdir(), 'sluice-action-repo-'))
  git('init', '-q', '-b', 'main')
  mkdirSync(join(repo, 'policies'))
  writeFileSync(join(repo, 'policies/stripe.yaml'), 'vendor: stripe\nupstream: https://api.stripe.com\nrateLimit:\n  buckets:\n    - { name: burst, capacity: 100, refill: 25/s }\n')
  writeFileSync(join(repo, 'policies/slack.yaml'), 'vendor: slack\nupstream: https://slack.com/api\n')
  git('add', '-A')
  git('commit', '-q', '-m', 'base')
  git('checkout', '-q', '-b', 'change')
  writeFileSync(join(repo, 'policies/stripe.yaml'), 'vendor: stripe\nupstream: https://api.stripe.com\nrateLimit:\n  buckets:\n    - { name: burst, capacity: 200, refill: 25/s }\nnetwork:\n  allowPrivate: true\n')
  git('rm', '-q', 'policies/slack.yaml')
  git('commit', '-q', '-am', 'change')
})

afterAll(async () => {
  await new Promise(resolve => api.close(resolve))
})

async function runAction (): Promise<{ code: number, stdout: string, summary: string }> {
  const summary = join(mkdtempSync(join(tmpdir(), 'sluice-action-summary-')), 'summary.md')
  writeFileSync(summary, '')
  const event = join(repo, '..', `event-${Date.now()}.json`)
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }))
  const env = {
    PATH: process.env.PATH as string,
    GITHUB_WORKSPACE: repo,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_EVENT_PATH: event,
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_API_URL: apiUrl,
    INPUT_POLICIES: 'policies',
    INPUT_BASE_REF: 'main',
    INPUT_COMMENT: 'true',
    INPUT_TOKEN: TOKEN,
    SLUICE_CLI: CLI,
  }
  let code = 0
  let stdout = ''
  try {
    stdout = (await promisify(execFile)(process.execPath, [SCRIPT], { env })).stdout
  } catch (err) {
    code = (err as { code: number }).code
    stdout = (err as { stdout: string }).stdout
  }
  return { code, stdout, summary: readFileSync(summary, 'utf8') }
}

const EXPECTED_BODY = `<!-- sluice-policy-diff -->
\`policies\`: valid.

### sluice policy diff

**2 risks** in 3 changes.

#### slack

- removed

#### stripe

- :warning: **risk:** network.allowPrivate false → true (private addresses allowed)
- :warning: **risk:** bucket "burst" capacity 100 → 200 (a limit raised)
`

describe('the policy GitHub Action', () => {
  it('annotates, diffs against the base branch, writes the summary and one comment it then updates', async () => {
    const first = await runAction()
    expect(first.code).toBe(0)
    // the warning as an annotation, the diff in the log
    expect(first.stdout).toContain('::warning file=policies/stripe.yaml,line=7,col=17::network.allowPrivate is true')
    expect(first.stdout).toContain('stripe: risk: bucket "burst" capacity 100 → 200 (a limit raised)\n')
    expect(first.summary).toBe(EXPECTED_BODY)
    expect(comments.map(c => c.body)).toEqual(['an unrelated comment by someone', EXPECTED_BODY])
    expect(seen.every(r => r.auth === `Bearer ${TOKEN}`)).toBe(true)

    // The next push: the same comment is edited, no second one appears.
    writeFileSync(join(repo, 'policies/stripe.yaml'), 'vendor: stripe\nupstream: https://api.stripe.com\nrateLimit:\n  buckets:\n    - { name: burst, capacity: 50, refill: 25/s }\n')
    git('commit', '-q', '-am', 'fix')
    const second = await runAction()
    expect(second.code).toBe(0)
    expect(comments.length).toBe(2)
    expect(comments[1]?.body).toContain('- bucket "burst" capacity 100 → 50\n')
    expect(seen.filter(r => r.method === 'PATCH').map(r => r.url)).toEqual(['/repos/o/r/issues/comments/2'])
    expect(first.stdout + second.stdout).not.toContain(TOKEN)
  })

  it('fails the step with annotations when the policies are invalid', async () => {
    writeFileSync(join(repo, 'policies/stripe.yaml'), 'vendor: stripe\nupstream: https://api.stripe.com:99999\n')
    git('commit', '-q', '-am', 'break')
    const r = await runAction()
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error file=policies/stripe.yaml,line=2,col=11::upstream: "https://api.stripe.com:99999" is not a valid URL: port 99999 is out of range (0-65535)\n')
    expect(r.summary).toContain('`policies`: **invalid** (1 problems, shown as annotations).')
  })

  it('passes a pull request whose base has policies that do not load, saying so', async () => {
    const branch = git('rev-parse', '--abbrev-ref', 'HEAD').trim()
    git('checkout', '-q', 'main')
    writeFileSync(join(repo, 'policies/slack.yaml'), 'vendor: slack\nupstream: ftp://slack.com\n')
    git('commit', '-q', '-am', 'a broken base')
    git('checkout', '-q', branch)
    writeFileSync(join(repo, 'policies/stripe.yaml'), 'vendor: stripe\nupstream: https://api.stripe.com\n')
    git('commit', '-q', '-am', 'fixed')
    const r = await runAction()
    expect(r.code).toBe(0)
    expect(r.summary).toContain('The policies on `main` do not load, so there is nothing to compare with:\n\n```\n<base>/slack.yaml:2:11: upstream: "ftp://slack.com" is not an upstream URL')
  })
})
