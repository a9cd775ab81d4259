// A request or response body turned into a log string: cut at maxBodyBytes on
// a character boundary, then scrubbed by what it is. What is not text (binary
// types, compressed bodies, bytes that are not UTF-8, NUL bytes) is never
// decoded: the log gets its size and a short hash instead, so two log lines
// can still be compared without the content being readable.
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import type { FieldMatcher } from './field-matcher.js'
import { scrubJson } from './json-scrub.js'
import { multipartBoundary, scrubMultipart } from './multipart-scrub.js'
import type { SecretValues } from './secret-values.js'
import { scrubComponent, scrubPairs } from './url-scrub.js'

export interface BodyScrubContext {
  maxBytes: number
  fields: FieldMatcher
  secrets: SecretValues
  /** secrets and patterns */
  text: (s: string) => string
}

const BINARY_TYPE = /^(?:image|audio|video|font)\/|^application\/(?:octet-stream|pdf|zip|gzip|x-gzip|x-tar|x-7z-compressed|x-bzip2|zstd|wasm|grpc|protobuf|x-protobuf|vnd\.google\.protobuf|msgpack|x-msgpack|cbor)\b/
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$|^application\/(?:x-)?ndjson$|^application\/jsonl?$|^text\/json$/
const FORM_TYPE = 'application/x-www-form-urlencoded'
const XML_TEXT = /\+xml$/
const NO_SPACE = /^\S+$/
const FORM_START = /^[^=&\s]+=/
const BOM = '\ufeff'

/** "[binary 2048 bytes sha256:<16 hex>]": the hash covers the bytes captured (at most maxBodyBytes). */
export function binaryMarker (captured: Buffer, totalBytes: number): string {
  const hash = createHash('sha256').update(captured).digest('hex').slice(0, 16)
  return `[binary ${totalBytes} bytes sha256:${hash}]`
}

/** The largest end <= `end` that does not split a UTF-8 character. */
export function utf8SafeEnd (buf: Buffer, end: number): number {
  let lead = end - 1
  for (let k = 0; k < 3 && lead >= 0 && ((buf[lead] as number) & 0xc0) === 0x80; k++) lead--
  if (lead < 0) return end
  const b = buf[lead] as number
  const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
  return lead + length > end ? lead : end
}

function isTokenCharacter (c: number): boolean {
  // whitespace and the punctuation that separates values in JSON, forms and markup
  return !(c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 123 || c === 125 ||
    c === 91 || c === 93 || c === 40 || c === 41 || c === 44 || c === 59 || c === 38 || c === 61)
}

/**
 * A body cut short may end in the first part of an e-mail, a token or a secret,
 * too short for any pattern to recognise: drop the unfinished last word, and
 * any beginning of a secret left at the end.
 */
function dropUnfinishedTail (s: string, secrets: SecretValues): string {
  let end = s.length
  while (end > 0 && isTokenCharacter(s.charCodeAt(end - 1))) end--
  end = digitGroupsStart(s, end)
  return secrets.dropPartialTail(s.slice(0, end))
}

/**
 * The first groups of a card number, IBAN or phone number written with
 * spaces or dashes ("4111 1111 1111") may stand before the cut; whole words
 * each, too short for a pattern. Six digits or more of such groups are dropped
 * (PCI DSS shows at most the first six and last four).
 */
function digitGroupsStart (s: string, end: number): number {
  let i = end
  let digits = 0
  let start = end
  while (i > 0) {
    const c = s.charCodeAt(i - 1)
    if (c >= 48 && c <= 57) { digits++; i--; start = i; continue }
    if ((c === 32 || c === 45) && i > 1 && s.charCodeAt(i - 2) >= 48 && s.charCodeAt(i - 2) <= 57) { i--; continue }
    if ((c === 32 || c === 45) && i === end) { i--; continue }
    break
  }
  return digits >= 6 ? start : end
}

function mediaType (contentType: string | undefined): string {
  if (contentType === undefined) return ''
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

function startsLikeJson (s: string): boolean {
  const first = s.trimStart().charCodeAt(0)
  return first === 123 || first === 91 // { or [
}

export function scrubBody (ctx: BodyScrubContext, buf: Buffer, contentType: string | undefined, contentEncoding: string | undefined, totalBytes: number): string {
  const total = Number.isFinite(totalBytes) ? Math.max(totalBytes, buf.length) : buf.length
  const captured = buf.length > ctx.maxBytes ? buf.subarray(0, ctx.maxBytes) : buf
  if (captured.length === 0) return ''
  const type = mediaType(contentType)
  const encoding = contentEncoding?.trim().toLowerCase()
  const compressed = encoding !== undefined && encoding !== '' && encoding !== 'identity'
  if (compressed || (BINARY_TYPE.test(type) && !XML_TEXT.test(type))) return binaryMarker(captured, total)

  const truncated = total > captured.length
  const end = truncated ? utf8SafeEnd(captured, captured.length) : captured.length
  const bytes = captured.subarray(0, end)
  if (!isUtf8(bytes) || bytes.includes(0)) return binaryMarker(captured, total)

  let s = bytes.toString('utf8')
  if (s.startsWith(BOM)) s = s.slice(1)
  if (truncated) s = dropUnfinishedTail(s, ctx.secrets)
  // secrets first, on the whole text: one may span a '&', '=' or a JSON token
  s = ctx.secrets.replace(s)

  if (JSON_TYPE.test(type) && startsLikeJson(s)) return scrubJson(s, ctx.fields, ctx.text)
  if (type === FORM_TYPE && !startsLikeJson(s)) return scrubPairs(s, ctx.fields, ctx.text)
  if (type.startsWith('multipart/')) {
    const boundary = multipartBoundary(contentType as string)
    if (boundary !== undefined) return scrubMultipart(s, boundary, ctx.fields, ctx.text)
  }
  // Labelled otherwise, or mislabelled: a JSON or form body still gets its fields masked.
  if (startsLikeJson(s)) return scrubJson(s, ctx.fields, ctx.text)
  const trimmed = s.trim()
  const blob = NO_SPACE.test(trimmed)
  if (blob && FORM_START.test(trimmed)) return scrubPairs(s, ctx.fields, ctx.text)
  // Text may still hold percent-encoding (a form cut before its first '='); a
  // blob without spaces may also use '+' for spaces, and stays encoded.
  return scrubComponent(s, ctx.text, blob, blob)
}
