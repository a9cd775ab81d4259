// Runs once before the suite. The CLI tests drive dist/cli.js, which `npm test`
// builds first; fail early with a clear message when it is missing.
import { existsSync } from 'node:fs'

export default function setup (): void {
  if (!existsSync(new URL('../../dist/cli.js', import.meta.url))) {
    throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it for you)')
  }
}
