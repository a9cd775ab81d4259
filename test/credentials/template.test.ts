/* eslint-disable no-template-curly-in-string */
import { describe, expect, it } from 'vitest'
import { checkTemplate, parseTemplate, TemplateError } from '../../src/credentials/index.js'
import { renderTemplate } from '../../src/credentials/template.js'

describe('parseTemplate', () => {
  it('splits literal text and references in order', () => {
    const t = parseTemplate('Bearer ${env:STRIPE_API_KEY} and ${file:/run/key}!')
    expect(t.parts).toEqual([
      'Bearer ',
      { kind: 'env', name: 'STRIPE_API_KEY', text: '${env:STRIPE_API_KEY}' },
      ' and ',
      { kind: 'file', path: '/run/key', text: '${file:/run/key}' },
      '!',
    ])
    expect(t.refs.map(r => r.text)).toEqual(['${env:STRIPE_API_KEY}', '${file:/run/key}'])
  })

  it('takes a string without references as one literal, a lone "$" included', () => {
    expect(parseTemplate('price $5 {ok}').parts).toEqual(['price $5 {ok}'])
    expect(parseTemplate('').parts).toEqual([])
  })

  it.each([
    ['${env:}', 0, 'variable name'],
    ['x ${env:1ABC}', 2, 'variable name'],
    ['${file:relative/path}', 0, 'absolute path'],
    ['${file:/}', 0, 'absolute path'],
    ['${vault:secret}', 0, 'expected ${env:NAME}'],
    ['${STRIPE_KEY}', 0, 'expected ${env:NAME}'],
    ['Bearer ${env:KEY', 7, 'closing'],
  ])('refuses %s at offset %i', (template, offset, rule) => {
    let err: unknown
    try { parseTemplate(template) } catch (e) { err = e }
    expect(err).toBeInstanceOf(TemplateError)
    expect((err as TemplateError).offset).toBe(offset)
    expect((err as Error).message).toContain(rule)
    expect(checkTemplate(template)).toBe((err as Error).message)
  })

  it('never repeats the text of a malformed reference, which may be a pasted secret', () => {
    expect(checkTemplate('${sk_live_abcdef123456}')).not.toContain('sk_live')
  })

  it('checkTemplate passes a well-formed template', () => {
    expect(checkTemplate('Bearer ${env:K}')).toBeUndefined()
  })
})

describe('renderTemplate', () => {
  const t = parseTemplate('Bearer ${env:A}-${env:B}')
  it('concatenates parts with looked-up values', () => {
    expect(renderTemplate(t, ref => ref.kind === 'env' ? ref.name.toLowerCase() : undefined)).toBe('Bearer a-b')
  })
  it('is undefined as soon as one reference has no value', () => {
    expect(renderTemplate(t, ref => ref.kind === 'env' && ref.name === 'A' ? 'a' : undefined)).toBeUndefined()
  })
})
