// Progress goes to stderr: stdout carries only the report.
export function progress (line) {
  process.stderr.write(`bench: ${line}\n`)
}
