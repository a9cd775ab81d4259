// multipart/form-data bodies (already known to be UTF-8 text): a part named
// like a redacted field has its content masked, a JSON part is scrubbed as
// JSON, and everything else, part headers included, as text.
import { FIELD_MARKER, formKeyPath, type FieldMatcher } from './field-matcher.js'
import { scrubJson } from './json-scrub.js'

const BOUNDARY = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i
const PART_NAME = /\bname="([^"]*)"/i
const PART_JSON = /^content-type:\s*[^\r\n]*json/im
const HEADERS_END = /\r?\n\r?\n/
const TRAILING_NEWLINE = /\r?\n$/

/** The boundary parameter of a multipart content type, if it has one. */
export function multipartBoundary (contentType: string): string | undefined {
  const m = BOUNDARY.exec(contentType)
  return m === null ? undefined : (m[1] ?? m[2])
}

export function scrubMultipart (src: string, boundary: string, fields: FieldMatcher, text: (s: string) => string): string {
  const parts = src.split('--' + boundary)
  parts[0] = text(parts[0] as string) // the preamble
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string
    const headersEnd = HEADERS_END.exec(part)
    if (headersEnd === null) {
      parts[i] = text(part) // the closing "--", or a part cut before its content
      continue
    }
    const headers = part.slice(0, headersEnd.index)
    const content = part.slice(headersEnd.index + headersEnd[0].length)
    const name = PART_NAME.exec(headers)?.[1]
    let scrubbed: string
    if (name !== undefined && fields.matches(formKeyPath(name))) {
      scrubbed = FIELD_MARKER + (TRAILING_NEWLINE.exec(content)?.[0] ?? '')
    } else if (PART_JSON.test(headers)) {
      scrubbed = scrubJson(content, fields, text)
    } else {
      scrubbed = text(content)
    }
    parts[i] = text(headers) + headersEnd[0] + scrubbed
  }
  return parts.join('--' + boundary)
}
