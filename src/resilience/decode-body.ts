// The response body a breaker bodyRule reads, as the vendor meant it. Clients
// such as fetch() ask for gzip by default and vendors comply, so a rule that
// read only identity bodies would never see a compressed vendor's failures.
// The client always gets the vendor's bytes as sent; this decodes a copy.
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib'

/** The most a body is decoded to: a small compressed body can expand a great deal. */
export const MAX_DECODED_BYTES = 1024 * 1024

const LIMIT = { maxOutputLength: MAX_DECODED_BYTES }

/**
 * `body` decoded per its Content-Encoding (codings applied in order, so undone
 * last first), or undefined when it cannot be: an unknown coding, a corrupt
 * body, or one that decodes to more than MAX_DECODED_BYTES.
 */
export function decodeBody (body: Buffer, contentEncoding: string | undefined): Buffer | undefined {
  if (contentEncoding === undefined) return body
  const codings = contentEncoding.split(',')
  let out = body
  try {
    for (let i = codings.length - 1; i >= 0; i--) {
      const decoded = decodeOne(out, (codings[i] as string).trim().toLowerCase())
      if (decoded === undefined) return undefined
      out = decoded
    }
  } catch {
    return undefined
  }
  return out
}

function decodeOne (body: Buffer, coding: string): Buffer | undefined {
  switch (coding) {
    case '':
    case 'identity': return body
    case 'gzip':
    case 'x-gzip': return gunzipSync(body, LIMIT)
    case 'br': return brotliDecompressSync(body, LIMIT)
    case 'deflate': return inflateEither(body)
    default: return undefined
  }
}

/** "deflate" is zlib-wrapped by the RFC; some servers send it raw. */
function inflateEither (body: Buffer): Buffer {
  try {
    return inflateSync(body, LIMIT)
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw err
    return inflateRawSync(body, LIMIT)
  }
}
