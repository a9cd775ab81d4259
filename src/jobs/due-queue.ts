// A binary min-heap of (dueAt, id): the next job due, in O(log n). Entries
// are never removed from the middle; a stale one is skipped when it comes up.
export class DueQueue {
  private readonly at: number[] = []
  private readonly ids: string[] = []

  get size (): number {
    return this.at.length
  }

  push (at: number, id: string): void {
    const a = this.at
    const ids = this.ids
    let i = a.length
    a.push(at)
    ids.push(id)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((a[parent] as number) <= at) break
      a[i] = a[parent] as number
      ids[i] = ids[parent] as string
      i = parent
    }
    a[i] = at
    ids[i] = id
  }

  peek (): [number, string] | undefined {
    return this.at.length === 0 ? undefined : [this.at[0] as number, this.ids[0] as string]
  }

  pop (): void {
    const a = this.at
    const ids = this.ids
    const lastAt = a.pop() as number
    const lastId = ids.pop() as string
    const n = a.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && (a[r] as number) < (a[l] as number) ? r : l
      if ((a[c] as number) >= lastAt) break
      a[i] = a[c] as number
      ids[i] = ids[c] as string
      i = c
    }
    a[i] = lastAt
    ids[i] = lastId
  }
}
