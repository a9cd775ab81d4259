// The journal is compacted once it holds several times more lines than jobs,
// and what is read back after compaction is the latest state of every job.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { JournalStore } from '../../src/jobs/journal-store.js'
import { newJobId, type Job } from '../../src/jobs/job.js'

function job (n: number): Job {
  const now = Date.now()
  return {
    id: newJobId(),
    vendor: 'acme',
    status: 'queued',
    method: 'POST',
    path: `/v1/${n}`,
    query: '',
    headers: ['idempotency-key', `k-${n}`],
    body: '',
    idempotencyKey: `k-${n}`,
    ip: '127.0.0.1',
    callback: undefined,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    since: now,
    dueAt: now,
    error: undefined,
    result: undefined,
    expiresAt: undefined,
  }
}

const lines = async (dir: string): Promise<number> => (await readFile(join(dir, 'jobs.journal'), 'utf8')).split('\n').filter(l => l !== '').length

describe('journal compaction', () => {
  it('rewrites the journal with one line per job and loses no state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-journal-'))
    const store = await JournalStore.open(dir)
    const JOBS = 300
    for (let i = 0; i < JOBS; i++) await store.add(job(i))
    let appended = JOBS
    for (let round = 0; round < 4; round++) {
      const claimed = await store.claim(['acme'], 10_000)
      expect(claimed).toHaveLength(JOBS)
      for (const c of claimed) {
        c.job.attempts++
        c.job.status = round === 3 && c.job.path.endsWith('0') ? 'succeeded' : 'queued'
        c.job.dueAt = Date.now()
        await store.settle(c, 60_000)
        appended++
      }
    }
    await store.close()
    expect(appended).toBe(JOBS * 5)
    // compacted at least once on the way: far fewer lines than were appended
    expect(await lines(dir)).toBeLessThan(appended - JOBS)

    const again = await JournalStore.open(dir)
    const all = await again.list({}, ['acme'], 10_000)
    expect(all).toHaveLength(JOBS)
    expect(all.every(j => j.attempts === 4)).toBe(true)
    expect(all.filter(j => j.status === 'succeeded')).toHaveLength(JOBS / 10)
    expect(await again.claim(['acme'], 10_000)).toHaveLength(JOBS - JOBS / 10)
    await again.close()
    expect(await lines(dir)).toBe(JOBS)
  })
})
