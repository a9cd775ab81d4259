// What a call costs each bucket (a policy's `cost`): the estimate reserved
// before the call, read from the request (a JSON body path, a header, or a
// constant), and the actual cost read from the response as it is relayed (a
// JSON body path, the last server-sent event that carries it, or a header).
// The response is never held back for this: CostTap sees each chunk after it
// was written to the client and keeps a bounded amount of it.
import { StringDecoder } from 'node:string_decoder'
import type { BucketCost, VendorPolicy } from '../policy/types.js'
import { decodeBody } from '../resilience/decode-body.js'

/** The most of a JSON response body kept to read its cost; past it the estimate stands. */
export const MAX_COST_BODY_BYTES = 1024 * 1024
/** The longest server-sent event read for its cost; a longer one is skipped. */
export const MAX_COST_EVENT_BYTES = 64 * 1024

export interface CostPlan {
  /** per bucket: its cost, or undefined (the bucket takes 1 and settles nothing) */
  costs: Array<BucketCost | undefined>
  /** the first bucket with a cost: the one whose cost the log line shows */
  first: number
  /** some estimate reads the request body as JSON */
  needsBody: boolean
  /** some bucket settles from the response */
  settles: boolean
  /** some bucket settles from a JSON response body */
  readsBody: boolean
  /** quick filter for a server-sent event: the first key of each response path, quoted */
  eventMarkers: string[]
}

/** The policy's cost plan (worked out once per policy load, in the rate limit plan); undefined when no bucket has a cost. */
export function compileCostPlan (policy: VendorPolicy): CostPlan | undefined {
  const costs = policy.rateLimit.buckets.map(b => b.cost)
  if (costs.every(c => c === undefined)) return undefined
  const responseJson = costs.flatMap(c => c?.response?.kind === 'json' ? [c.response.path] : [])
  return {
    costs,
    first: costs.findIndex(c => c !== undefined),
    needsBody: costs.some(c => c?.request?.kind === 'json'),
    settles: costs.some(c => c?.response !== undefined),
    readsBody: responseJson.length > 0,
    eventMarkers: [...new Set(responseJson.map(p => JSON.stringify(p[0])))],
  }
}

/**
 * The estimate for each bucket: its `request` source read from the call (a
 * header given lower-case names; `body` the whole request body, or undefined
 * when it was not read whole), else its `default`; 1 for a bucket without a cost.
 */
export function estimateCosts (plan: CostPlan, header: (name: string) => string | undefined, body: Buffer | undefined): number[] {
  let json: unknown
  let parsed = false
  const out = new Array<number>(plan.costs.length)
  for (let i = 0; i < plan.costs.length; i++) {
    const cost = plan.costs[i]
    if (cost === undefined) { out[i] = 1; continue }
    const source = cost.request
    let value: number | undefined
    if (source === undefined) {
      value = undefined
    } else if (source.kind === 'constant') {
      value = source.value
    } else if (source.kind === 'header') {
      value = costNumber(header(source.name))
    } else {
      if (!parsed) { json = parseJson(body); parsed = true }
      value = costNumber(atPath(json, source.path))
    }
    out[i] = value ?? cost.default
  }
  return out
}

/**
 * Reads the actual costs from a response as it is relayed. Created at the
 * response headers; push() each chunk after it went to the client; result()
 * at the end: per bucket the actual cost, or undefined (the estimate stands).
 */
export class CostTap {
  private readonly actual: Array<number | undefined>
  private readonly plan: CostPlan
  private body: Buffer[] | undefined
  private bodyBytes = 0
  private readonly encoding: string | undefined
  private events: StringDecoder | undefined
  private line = ''
  private lineTooLong = false
  private data = ''
  private dataTooLong = false

  constructor (plan: CostPlan, header: (name: string) => string | undefined) {
    this.plan = plan
    this.actual = new Array<number | undefined>(plan.costs.length)
    for (let i = 0; i < plan.costs.length; i++) {
      const source = plan.costs[i]?.response
      if (source?.kind === 'header') this.actual[i] = costNumber(header(source.name))
    }
    this.encoding = header('content-encoding')
    if (!plan.readsBody) return
    const type = header('content-type')?.toLowerCase() ?? ''
    if (type.startsWith('text/event-stream')) {
      // A compressed stream would have to be inflated as it goes: its cost is not read.
      if (this.encoding === undefined || this.encoding === 'identity') this.events = new StringDecoder('utf8')
    } else if (type.includes('json')) {
      this.body = []
    }
  }

  push (chunk: Buffer): void {
    if (this.events !== undefined) {
      this.scan(this.events.write(chunk))
      return
    }
    const body = this.body
    if (body === undefined) return
    this.bodyBytes += chunk.length
    if (this.bodyBytes > MAX_COST_BODY_BYTES) {
      this.body = undefined
      return
    }
    // A copy: the chunk's memory belongs to the connection.
    body.push(Buffer.from(chunk))
  }

  result (): ReadonlyArray<number | undefined> {
    if (this.events !== undefined) {
      this.scan(this.events.end() + '\n\n')
    } else if (this.body !== undefined) {
      const decoded = decodeBody(Buffer.concat(this.body, this.bodyBytes), this.encoding)
      this.body = undefined
      if (decoded !== undefined) this.readJson(parseJson(decoded))
    }
    return this.actual
  }

  /** Server-sent event lines: each `data:` line kept, each blank line ends an event. */
  private scan (text: string): void {
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl < 0) {
        this.addToLine(text.slice(start))
        return
      }
      this.addToLine(text.slice(start, nl))
      start = nl + 1
      const tooLong = this.lineTooLong
      let line = this.line
      this.line = ''
      this.lineTooLong = false
      if (line.endsWith('\r')) line = line.slice(0, -1)
      if (line === '') {
        this.endEvent()
      } else if (line.startsWith('data:')) {
        if (tooLong) {
          this.dataTooLong = true
        } else {
          const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
          this.data = this.data === '' ? value : this.data + '\n' + value
          if (this.data.length > MAX_COST_EVENT_BYTES) { this.dataTooLong = true; this.data = '' }
        }
      }
    }
  }

  private addToLine (part: string): void {
    if (this.lineTooLong || part === '') return
    if (this.line.length + part.length > MAX_COST_EVENT_BYTES) {
      this.lineTooLong = true
      this.line = ''
      return
    }
    this.line += part
  }

  private endEvent (): void {
    const data = this.data
    const skip = this.dataTooLong
    this.data = ''
    this.dataTooLong = false
    if (skip || data === '' || !this.plan.eventMarkers.some(m => data.includes(m))) return
    this.readJson(parseJson(data))
  }

  /** The JSON response paths found in `json` (a later event overrides an earlier one). */
  private readJson (json: unknown): void {
    if (json === undefined) return
    for (let i = 0; i < this.plan.costs.length; i++) {
      const source = this.plan.costs[i]?.response
      if (source?.kind !== 'json') continue
      const value = costNumber(atPath(json, source.path))
      if (value !== undefined) this.actual[i] = value
    }
  }
}

/** A cost as written in a header or a JSON value: a finite number, 0 or more. */
function costNumber (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  if (v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

function parseJson (body: Buffer | string | undefined): unknown {
  if (body === undefined || body.length === 0) return undefined
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'))
  } catch {
    return undefined
  }
}

function atPath (json: unknown, path: readonly string[]): unknown {
  let v = json
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined
    v = (v as Record<string, unknown>)[key]
  }
  return v
}
