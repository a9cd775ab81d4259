import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { compilePolicy } from '../../src/policy/compile.js'
import { applyDefaults } from '../../src/policy/defaults.js'
import { formatProblem, validatePath } from '../../src/policy/load.js'
import { maskTemplate, parseTemplate, renderTemplate, secretRefFields, secretRefProblems } from '../../src/policy/secret-refs.js'

describe('secret reference form', () => {
  it.each([
    'Bearer ${env:STRIPE_API_KEY}', '${env:_X1}', '${file:/var/run/secrets/vendor/key}', 'no reference at all', '$notaref {}',
    '${env:A}:${env:B}',
  ])('accepts %j', template => {
    expect(secretRefProblems(template)).toEqual([])
  })

  it.each([
    ['${env:1ABC}', 'malformed ${env:...} reference'],
    ['${env:}', 'malformed ${env:...} reference'],
    ['${env:A B}', 'malformed ${env:...} reference'],
    ['Bearer ${env:ACME KEY}', 'malformed ${env:...} reference'],
    ['${ENV:FOO}', 'malformed secret reference'],
    ['${file:/run/a\u0001b}', 'malformed ${file:...} reference'],
    ['${file:key.txt}', 'malformed ${file:...} reference'],
    ['${file:/}', 'malformed ${file:...} reference'],
    ['${file:/dir/}', 'malformed ${file:...} reference'],
    ['${vault:secret/x}', 'unknown secret reference kind "vault"'],
    ['${STRIPE_API_KEY}', 'malformed secret reference'],
    ['${}', 'malformed secret reference'],
    ['Bearer ${env:KEY', 'unterminated secret reference'],
  ])('rejects %j', (template, message) => {
    const problems = secretRefProblems(template)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(message)
  })

  it('never repeats what sits inside a malformed reference', () => {
    for (const template of ['${sk_live_abcdef123456}', '${env:sk-live-abcdef}', '${Bearer sk_live_abc}']) {
      expect(secretRefProblems(template).join(' ')).not.toMatch(/sk_live|sk-live/)
    }
  })

  it('parses a template into literals and references, in order', () => {
    const t = parseTemplate('Bearer ${env:KEY} and ${file:/a/b}!')
    expect(t.parts).toEqual([
      'Bearer ',
      { kind: 'env', name: 'KEY', text: '${env:KEY}' },
      ' and ',
      { kind: 'file', path: '/a/b', text: '${file:/a/b}' },
      '!',
    ])
    expect(t.refs.map(r => r.text)).toEqual(['${env:KEY}', '${file:/a/b}'])
    expect(t.problems).toEqual([])
    expect(maskTemplate('${env:A} ${env:B}')).toBe('${env:A} ${env:B}')
  })

  it('takes a string without references as one literal, a lone "$" included', () => {
    expect(parseTemplate('price $5 {ok}').parts).toEqual(['price $5 {ok}'])
    expect(parseTemplate('').parts).toEqual([])
  })

  it('keeps a malformed reference as literal text, so it is masked and never resolved', () => {
    const t = parseTemplate('Bearer ${sk_live_pasted} ${env:OK}')
    expect(t.refs.map(r => r.text)).toEqual(['${env:OK}'])
    expect(t.problems).toHaveLength(1)
    expect(maskTemplate('Bearer ${sk_live_pasted}')).toBe('Bearer ***')
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

describe('secretRefFields', () => {
  it('lists every template the compiled policy parsed, with its place', () => {
    const policy = compilePolicy(applyDefaults({
      vendor: 'acme',
      upstream: 'https://api.acme.test',
      inject: {
        headers: { Authorization: 'Bearer ${env:ACME_KEY}', 'X-Static': 'literal' },
        query: { sig: '${file:/run/secrets/sig}${env:SALT}' },
        oauth2: { tokenUrl: 'https://auth.acme.test/t', clientId: '${env:ACME_ID}', clientSecret: '${file:/run/secrets/acme}' },
      },
    }, undefined), 'acme.yaml')
    expect(secretRefFields(policy).map(({ path, template }) => [path.join('.'), template.refs.map(r => r.text)])).toEqual([
      ['inject.headers.authorization', ['${env:ACME_KEY}']],
      ['inject.headers.x-static', []],
      ['inject.query.sig', ['${file:/run/secrets/sig}', '${env:SALT}']],
      ['inject.oauth2.clientId', ['${env:ACME_ID}']],
      ['inject.oauth2.clientSecret', ['${file:/run/secrets/acme}']],
    ])
  })
})

describe('validatePath with resolveSecrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-secrets-'))
  writeFileSync(join(dir, 'acme.yaml'), [
    'vendor: acme',
    'upstream: https://api.acme.test',
    'inject:',
    '  headers:',
    '    Authorization: "Bearer ${env:ACME_KEY}"',
    '    X-Other: "${env:ACME_KEY}"',
    '  query:',
    '    sig: "${file:/run/secrets/acme/sig}"',
    '',
  ].join('\n'))

  it('checks only the form without a resolver: nothing here resolves, and that is fine', async () => {
    expect(process.env.ACME_KEY).toBeUndefined()
    expect(await validatePath(dir)).toEqual([])
  })

  it('names each reference that does not resolve, at its field, never a value', async () => {
    const resolver = vi.fn((ref: string) => ref === '${env:ACME_KEY}' ? 'sk_live_resolved_value' : undefined)
    const problems = (await validatePath(dir, { resolveSecrets: resolver })).map(formatProblem)
    expect(problems).toEqual([`${dir}/acme.yaml:8:10: inject.query.sig: secret reference \${file:/run/secrets/acme/sig} does not resolve`])
    // Each distinct reference is resolved once.
    expect(resolver.mock.calls.map(c => c[0]).sort()).toEqual(['${env:ACME_KEY}', '${file:/run/secrets/acme/sig}'])
    expect(problems.join('\n')).not.toContain('sk_live')
  })

  it('treats a resolver that throws as unresolved', async () => {
    const problems = await validatePath(dir, { resolveSecrets: () => { throw new Error('sk_live_in_error') } })
    expect(problems.map(p => p.message)).toEqual([
      'inject.headers.authorization: secret reference ${env:ACME_KEY} does not resolve',
      'inject.headers.x-other: secret reference ${env:ACME_KEY} does not resolve',
      'inject.query.sig: secret reference ${file:/run/secrets/acme/sig} does not resolve',
    ])
  })
})
