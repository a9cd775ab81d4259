import { createHash, randomBytes } from 'node:crypto'
import { gzipSync, brotliCompressSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

const scrubber = compileScrubber({ logging: loggingPolicy({ maxBodyBytes: 64 }) })

function hash16 (buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex').slice(0, 16)
}

describe('binary bodies', () => {
  test('compressed bodies give size and hash, whatever their type', () => {
    const gz = gzipSync(Buffer.from('{"password":"p1","email":"jo@example.com"}'))
    expect(scrubber.body(gz, 'application/json', 'gzip', gz.length)).toBe(`[binary ${gz.length} bytes sha256:${hash16(gz)}]`)
    const br = brotliCompressSync(Buffer.from('hello jo@example.com'))
    expect(scrubber.body(br, 'text/plain', 'br', br.length)).toBe(`[binary ${br.length} bytes sha256:${hash16(br)}]`)
  })

  test('a content-encoding means binary even when the bytes read as text', () => {
    const body = Buffer.from('jo@example.com')
    expect(scrubber.body(body, 'text/plain', 'x-custom', body.length)).toBe(`[binary 14 bytes sha256:${hash16(body)}]`)
  })

  test('"identity" is no encoding', () => {
    expect(scrubber.body(Buffer.from('hi'), 'text/plain', 'identity', 2)).toBe('hi')
  })

  test('binary types give size and hash even when their bytes are text', () => {
    for (const type of ['image/png', 'application/octet-stream', 'application/pdf', 'application/grpc+proto', 'video/mp4']) {
      expect(scrubber.body(Buffer.from('plain'), type, undefined, 5), type).toMatch(/^\[binary 5 bytes sha256:[0-9a-f]{16}\]$/)
    }
  })

  test('SVG and other +xml types are text', () => {
    expect(scrubber.body(Buffer.from('<svg>jo@example.com</svg>'), 'image/svg+xml', undefined, 25)).toBe('<svg>[REDACTED:email]</svg>')
  })

  test('bytes that are not UTF-8, or hold NUL, give size and hash', () => {
    const latin1 = Buffer.from('caf\xe9 jo@example.com', 'latin1')
    expect(scrubber.body(latin1, 'text/plain', undefined, 1000)).toBe(`[binary 1000 bytes sha256:${hash16(latin1)}]`)
    const nul = Buffer.from('a\u0000b')
    expect(scrubber.body(nul, undefined, undefined, 3)).toBe(`[binary 3 bytes sha256:${hash16(nul)}]`)
  })

  test('the hash covers the captured bytes, the size counts the whole body', () => {
    const big = randomBytes(500)
    expect(scrubber.body(big, undefined, undefined, 9999)).toBe(`[binary 9999 bytes sha256:${hash16(big.subarray(0, 64))}]`)
  })

  // The scrubber never throws because it catches everything and logs a
  // fallback marker instead: random bytes must be scrubbed, not fall back.
  test('random bytes are logged scrubbed or as size and hash, never as the fallback', () => {
    for (let i = 0; i < 200; i++) {
      const buf = randomBytes(i)
      for (const type of [undefined, 'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
        const out = scrubber.body(buf, type, undefined, buf.length)
        expect(out, `${i} random bytes as ${type}`).not.toMatch(/^\[unloggable body/)
        if (out.startsWith('[binary')) expect(out).toBe(`[binary ${i} bytes sha256:${hash16(buf.subarray(0, 64))}]`)
      }
    }
  })
})
