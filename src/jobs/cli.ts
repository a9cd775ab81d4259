// sluice jobs list|show|retry|drop: the admin API's job routes from a shell.
//   sluice jobs list  [--status S] [--vendor V] [--admin URL]   one line per job
//   sluice jobs show  ID [--admin URL]                          the job as JSON
//   sluice jobs retry ID [--admin URL]                          a dead or failed job queued again
//   sluice jobs drop  ID [--admin URL]                          the job forgotten
// Exit 0 on success, 1 when the job is unknown or the admin API refuses, 2 on bad usage.
export const JOBS_USAGE = `sluice jobs list|show|retry|drop [ID] [--admin URL] [--status STATUS] [--vendor NAME]

  list             one line per job: id, vendor, status, attempts, updated, error
  show ID          the job as JSON (never its bodies)
  retry ID         a dead or failed job queued again, with the same idempotency key
  drop ID          the job forgotten
  --admin URL      sluice's admin listener (default http://127.0.0.1:9090)
  --status STATUS  list only: queued, running, succeeded, failed or dead
  --vendor NAME    list only: this vendor's jobs

Exit 0 done, 1 when the job is unknown or the admin API refuses.`

export const JOBS_OPTIONS = { admin: { type: 'string' }, status: { type: 'string' }, vendor: { type: 'string' } } as const

const DEFAULT_ADMIN = 'http://127.0.0.1:9090'

export async function runJobs (values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  return await jobsCommand(values as { admin?: string, status?: string, vendor?: string }, positionals)
}

async function jobsCommand (values: { admin?: string, status?: string, vendor?: string }, positionals: string[], out: (s: string) => void = s => process.stdout.write(s), err: (s: string) => void = s => process.stderr.write(s)): Promise<number> {
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
        err(`${sub === undefined ? 'no jobs command given' : `unknown jobs command "${sub}"`}\nusage: ${JOBS_USAGE}\n`)
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
