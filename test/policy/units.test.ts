import { describe, expect, it } from 'vitest'
import {
  formatDuration, formatPercent, formatSize, parseDuration, parsePercent, parseRate, parseSize,
} from '../../src/policy/units.js'

describe('parseDuration', () => {
  it.each([
    ['250ms', 250], ['5s', 5000], ['2m', 120_000], ['1h', 3_600_000], ['1d', 86_400_000],
    ['0s', 0], ['1.5s', 1500], ['1.1s', 1100], ['0.5ms', 0.5], ['2.25h', 8_100_000],
    // 1.005 * 1000 is 1004.9999999999999 in floating point: the digits must be read whole.
    ['1.005s', 1005], ['4.35m', 261_000], ['8.2m', 492_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['5', '5 s', '5sec', 's', '-1s', '1.s', '.5s', '5S', '1w', ''])('%j is not a duration', text => {
    expect(parseDuration(text)).toBeUndefined()
  })
})

describe('parseSize', () => {
  it.each([
    ['512kb', 512 * 1024], ['10mb', 10 * 1024 * 1024], ['1gb', 1024 ** 3], ['100b', 100], ['1.5kb', 1536], ['0.1kb', 102],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  it.each(['10', '10 mb', '10MB', '1tb', 'kb'])('%j is not a size', text => {
    expect(parseSize(text)).toBeUndefined()
  })
})

describe('parseRate', () => {
  it.each([
    ['25/s', 25 / 1000], ['600/min', 600 / 60_000], ['5000/h', 5000 / 3_600_000], ['100000/day', 100_000 / 86_400_000],
    ['1/sec', 1 / 1000], ['1/second', 1 / 1000], ['60/m', 60 / 60_000], ['60/minute', 60 / 60_000],
    ['1/hour', 1 / 3_600_000], ['1/d', 1 / 86_400_000], ['2.5/s', 2.5 / 1000],
  ])('%s is %d tokens per ms', (text, perMs) => {
    expect(parseRate(text)).toBe(perMs)
  })

  it('is exact where the decimal allows it', () => {
    expect(parseRate('600/min')).toBe(0.01)
    expect(parseRate('25/s')).toBe(0.025)
  })

  it.each(['25', '25/', '25/week', '25 / s', '/s'])('%j is not a rate', text => {
    expect(parseRate(text)).toBeUndefined()
  })
})

describe('parsePercent', () => {
  it.each([['10%', 0.1], ['0%', 0], ['100%', 1], ['12.5%', 0.125], ['20%', 0.2], ['250%', 2.5]])('%s is %d', (text, share) => {
    expect(parsePercent(text)).toBe(share)
  })

  it.each(['10', '10 %', '%', '0.1'])('%j is not a percent', text => {
    expect(parsePercent(text)).toBeUndefined()
  })
})

describe('formatting back', () => {
  it('picks the largest unit that divides exactly', () => {
    expect([0, 250, 1500, 5000, 60_000, 90_000, 3_600_000, 86_400_000].map(formatDuration))
      .toEqual(['0ms', '250ms', '1500ms', '5s', '1m', '90s', '1h', '1d'])
    expect([0, 100, 1024, 1536, 10 * 1024 ** 2, 1024 ** 3].map(formatSize))
      .toEqual(['0b', '100b', '1kb', '1536b', '10mb', '1gb'])
    expect([0.1, 0.2, 0.07, 0.125, 1].map(formatPercent)).toEqual(['10%', '20%', '7%', '12.5%', '100%'])
  })

  it('round-trips', () => {
    for (const text of ['250ms', '5s', '2m', '1h', '1d']) expect(formatDuration(parseDuration(text) as number)).toBe(text)
    for (const text of ['512kb', '10mb', '1gb', '7b']) expect(formatSize(parseSize(text) as number)).toBe(text)
  })
})
