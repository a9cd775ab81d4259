// sluice jobs list|show|retry|drop: the admin API's job routes from a shell.
//   sluice jobs list  [--status S] [--vendor V] [--admin URL]   one line per job
//   sluice jobs show  ID [--admin URL]                          the job as JSON
//   sluice jobs retry ID [--admin URL]                          a dead or failed job queued again
//   sluice jobs drop  ID [--admin URL]                          the job forgotten
// Exit 0 on success, 1 when the job is unknown or the admin API refuses, 2 on bad usage.
import { parseArgs } from 'node:util'

export const JOBS_USAGE = `  sluice jobs list  [--status queued|running|succeeded|failed|dead] [--vendor NAME] [--admin URL]
  sluice jobs show  ID [--admin URL]
  sluice jobs retry ID [--admin URL]
  sluice jobs drop  ID [--admin URL]`

const DEFAULT_ADMIN = 'http://127.0.0.1:9090'

export async function jobsCommand (args: string[], out: (s: string) => void = s => process.stdout.write(s), err: (s: string) => void = s => process.stderr.write(s)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { admin: { type: 'string' }, status: { type: 'string' }, vendor: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  })
  const [sub, id] = positionals
  const admin = (values.admin ?? DEFAULT_ADMIN).replace(/\/+$/, '')
  const needId = (): string | undefined => {
    if (id === undefined) err(`sluice jobs ${sub}: a job id is needed\n`)
    return id
  }
  let res: Response
  try {
    switch (sub) {
      case 'list': {
        const q = new URLSearchParams()
        if (values.status !== undefined) q.set('status', values.status)
        if (values.vendor !== undefined) q.set('vendor', values.vendor)
        res = await fetch(`${admin}/jobs${q.size > 0 ? '?' + q.toString() : ''}`)
        if (!res.ok) return await refused(res, err)
        const { jobs } = await res.json() as { jobs: Array<Record<string, unknown>> }
        for (const j of jobs) out(`${String(j.job)}\t${String(j.vendor)}\t${String(j.status)}\t${String(j.attempts)}\t${String(j.updatedAt)}\t${String(j.error ?? '')}\n`)
        return 0
      }
      case 'show': {
        const job = needId()
        if (job === undefined) return 2
        res = await fetch(`${admin}/jobs/${encodeURIComponent(job)}`)
        if (!res.ok) return await refused(res, err)
        out(JSON.stringify(await res.json(), null, 2) + '\n')
        return 0
      }
      case 'retry': {
        const job = needId()
        if (job === undefined) return 2
        res = await fetch(`${admin}/jobs/${encodeURIComponent(job)}/retry`, { method: 'POST' })
        if (!res.ok) return await refused(res, err)
        const j = await res.json() as Record<string, unknown>
        out(`${String(j.job)}\t${String(j.status)}\n`)
        return 0
      }
      case 'drop': {
        const job = needId()
        if (job === undefined) return 2
        res = await fetch(`${admin}/jobs/${encodeURIComponent(job)}`, { method: 'DELETE' })
        if (!res.ok) return await refused(res, err)
        out(`${job}\tdeleted\n`)
        return 0
      }
      default:
        err(`${sub === undefined ? 'no jobs command given' : `unknown jobs command "${sub}"`}\nusage:\n${JOBS_USAGE}\n`)
        return 2
    }
  } catch (e) {
    // never quote the URL back: it may carry credentials
    err(`sluice jobs: cannot reach the admin API (${(e as { cause?: { code?: string } }).cause?.code ?? 'error'})\n`)
    return 1
  }
}

async function refused (res: Response, err: (s: string) => void): Promise<number> {
  let message = `HTTP ${res.status}`
  try {
    const body = await res.json() as { message?: string }
    if (typeof body.message === 'string') message += `: ${body.message}`
  } catch { /* not JSON */ }
  err(`sluice jobs: ${message}\n`)
  return 1
}
