// The JSON Schemas shipped in schema/, for editors (yaml-language-server reads
// the `# yaml-language-server: $schema=...` line at the top of a policy file).
// Generated from the TypeBox schema, never edited by hand; a test checks that
// the committed files equal what this prints.
//
//   node dist/policy/print-schema.js            policy schema on stdout
//   node dist/policy/print-schema.js schema     write both files into schema/
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TSchema } from '@sinclair/typebox'
import { DefaultsFile, PolicyFile } from './schema.js'

const DRAFT = 'http://json-schema.org/draft-07/schema#'

function jsonSchema (schema: TSchema, title: string): object {
  // JSON round trip: drops TypeBox's symbol keys, keeps plain JSON Schema.
  return { $schema: DRAFT, title, ...JSON.parse(JSON.stringify(schema)) }
}

export function policyJsonSchema (): object {
  return jsonSchema(PolicyFile, 'sluice vendor policy')
}

export function defaultsJsonSchema (): object {
  return jsonSchema(DefaultsFile, 'sluice policy defaults')
}

/** The files of schema/, by name, exactly as committed. */
export function schemaFiles (): Record<string, string> {
  return {
    'policy.schema.json': `${JSON.stringify(policyJsonSchema(), null, 2)}\n`,
    'defaults.schema.json': `${JSON.stringify(defaultsJsonSchema(), null, 2)}\n`,
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2]
  if (dir === undefined) {
    process.stdout.write(schemaFiles()['policy.schema.json'] as string)
  } else {
    for (const [name, text] of Object.entries(schemaFiles())) writeFileSync(join(dir, name), text)
  }
}
