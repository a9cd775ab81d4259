import { describe, expect, test } from 'vitest'
import { BodyCapture } from '../../src/observability/body-capture.js'

describe('BodyCapture', () => {
  test('keeps the first maxBytes across chunks and counts every byte', () => {
    const capture = new BodyCapture(10)
    capture.push(Buffer.from('abcd'))
    capture.push(Buffer.from('efghij'))
    capture.push(Buffer.from('klmn'))
    expect(capture.result().toString()).toBe('abcdefghij')
    expect(capture.bytes).toBe(14)
  })

  test('cuts a chunk that crosses the limit', () => {
    const capture = new BodyCapture(5)
    capture.push(Buffer.from('abc'))
    capture.push(Buffer.from('defgh'))
    expect(capture.result().toString()).toBe('abcde')
    expect(capture.bytes).toBe(8)
  })

  test('never changes the chunk the proxy forwards', () => {
    const capture = new BodyCapture(4)
    const chunk = Buffer.from('0123456789')
    const before = Buffer.from(chunk)
    expect(capture.push(chunk)).toBeUndefined() // synchronous: nothing to wait for
    expect(chunk.equals(before)).toBe(true)
  })

  test('holds a copy: neither later writes to the chunk nor the larger buffer behind it are kept', () => {
    const capture = new BodyCapture(3)
    const chunk = Buffer.from('abcdef')
    capture.push(chunk)
    chunk.fill(0x7a)
    const result = capture.result()
    expect(result.toString()).toBe('abc')
    expect(result.buffer.byteLength).toBe(3)
    expect(result.buffer).not.toBe(chunk.buffer)
  })

  test('with maxBytes 0 captures nothing but still counts', () => {
    const capture = new BodyCapture(0)
    capture.push(Buffer.from('abc'))
    expect(capture.result().length).toBe(0)
    expect(capture.bytes).toBe(3)
  })

  test('an empty body gives an empty buffer', () => {
    expect(new BodyCapture(10).result().length).toBe(0)
  })

  test('rejects a maxBytes that is not a non-negative integer', () => {
    expect(() => new BodyCapture(-1)).toThrow(/non-negative integer/)
    expect(() => new BodyCapture(1.5)).toThrow(/non-negative integer/)
  })
})
