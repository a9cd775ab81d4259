// The secret references in one file's `inject` section, checked on the file as
// written, whether or not the schema accepted the rest of it: a malformed
// reference is reported in the same round as every other problem, at its
// FILE:LINE:COL. The grammar itself is secret-refs.ts.
import { secretRefProblems } from './secret-refs.js'
import { fieldName, problemAt, type FieldPath, type SourceFile } from './source.js'
import type { PolicyProblem } from './types.js'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function templateProblems (src: SourceFile): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  const check = (path: FieldPath, template: unknown): void => {
    if (typeof template !== 'string') return // the schema says what is wrong with it
    for (const message of secretRefProblems(template)) problems.push(problemAt(src, path, `${fieldName(path)}: ${message}`))
  }
  const jobs = isObject(src.value) ? src.value.async : undefined
  if (isObject(jobs) && isObject(jobs.callbacks)) check(['async', 'callbacks', 'secret'], jobs.callbacks.secret)
  const inject = isObject(src.value) ? src.value.inject : undefined
  if (!isObject(inject)) return problems
  for (const section of ['headers', 'query'] as const) {
    const fields = inject[section]
    if (isObject(fields)) for (const [name, template] of Object.entries(fields)) check(['inject', section, name], template)
  }
  if (isObject(inject.oauth2)) {
    for (const field of ['clientId', 'clientSecret'] as const) check(['inject', 'oauth2', field], inject.oauth2[field])
  }
  return problems
}
