// The five servers under test, each started once per harness run and kept
// for every round: the upstream itself (direct), the floor (bench/floor-proxy.js),
// the bare @fastify/http-proxy baseline, sluice passthrough and sluice with the
// full policy. Each target
// says where to send calls and which process to account CPU and memory to.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jsonLineUrl, startChild } from './children.js'
import { API_KEY_ENV, fullPolicy, passthroughPolicy } from './policies.js'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
const SLUICE_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

/** The path every call asks for; the proxies serve it under their /bench prefix. */
export const CALL_PATH = '/v1/items/42'
const PROXY_PREFIX = '/bench'

export const TARGET_LABELS = Object.freeze({
  direct: 'direct (upstream)',
  floor: 'floor: node:http + undici, nothing else',
  baseline: 'baseline @fastify/http-proxy',
  passthrough: 'sluice passthrough',
  full: 'sluice full policy',
  traced: 'sluice full policy, tracing 100 %',
  traced1: 'sluice full policy, tracing 1 %',
})

/** The traced targets: the full policy with OTLP export to bench/otlp-sink.js, at this sampler ratio. */
const TRACE_RATIO = Object.freeze({ traced: '1', traced1: '0.01' })

/** The two reference proxies sluice is measured against, by target id. */
const REFERENCE_PROXIES = Object.freeze({ floor: 'floor-proxy.js', baseline: 'baseline-proxy.js' })

/** A minimal environment: nothing from the caller's SLUICE_* settings leaks into a run. */
function childEnv (extra = {}) {
  return { PATH: process.env.PATH, ...extra }
}

function startOtlpSink () {
  return startChild({
    name: 'otlp sink',
    command: process.execPath,
    args: [join(BENCH, 'otlp-sink.js')],
    env: childEnv(),
    findUrl: jsonLineUrl('listening'),
  })
}

export async function startUpstream () {
  return startChild({
    name: 'upstream',
    command: process.execPath,
    args: [join(BENCH, 'upstream.js')],
    env: childEnv(),
    findUrl: jsonLineUrl('listening'),
  })
}

/**
 * Starts target `id`. `ctx` holds the upstream, Redis (for the full policy),
 * a scratch folder and the options.
 * Returns { id, label, url, pid, logFile?, stop }.
 */
export async function startTarget (id, ctx) {
  const { upstream, workDir, options } = ctx
  switch (id) {
    case 'direct':
      return { id, label: TARGET_LABELS[id], url: upstream.url + CALL_PATH, pid: upstream.pid, stop: async () => {} }
    case 'floor':
    case 'baseline': {
      const child = await startChild({
        name: id,
        command: process.execPath,
        args: [join(BENCH, REFERENCE_PROXIES[id]), upstream.url],
        env: childEnv(),
        findUrl: jsonLineUrl('listening'),
      })
      return { id, label: TARGET_LABELS[id], url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, stop: child.stop }
    }
    case 'passthrough':
    case 'full':
    case 'traced':
    case 'traced1': {
      const full = id !== 'passthrough'
      const policyFile = join(workDir, `${id}.yaml`)
      writeFileSync(policyFile, full ? fullPolicy(upstream.url) : passthroughPolicy(upstream.url))
      const logFile = join(workDir, `${id}.log`)
      const args = ['start', '--policies', policyFile, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--log-level', 'info']
      if (full) args.push('--redis', ctx.redis.url)
      // The load carries no traceparent: every call starts a trace, kept at the ratio.
      const sink = TRACE_RATIO[id] === undefined ? undefined : await startOtlpSink()
      const tracing = sink === undefined
        ? {}
        : { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: TRACE_RATIO[id] }
      const nodeArgs = options.cpuProf
        ? ['--cpu-prof', '--cpu-prof-dir', join(options.outDir, 'profiles'), '--cpu-prof-name', `sluice-${id}-${Date.now()}.cpuprofile`]
        : []
      const child = await startChild({
        name: `sluice ${id}`,
        command: process.execPath,
        args: [...nodeArgs, SLUICE_CLI, ...args],
        // A dummy value: the benchmark's upstream ignores it.
        env: childEnv(full ? { [API_KEY_ENV]: 'bench-dummy-token', ...tracing } : {}),
        stdoutFile: logFile,
        findUrl: jsonLineUrl('proxy', 'listening'),
      })
      const stop = sink === undefined ? child.stop : async () => { await child.stop(); await sink.stop() }
      return { id, label: TARGET_LABELS[id], url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, logFile, stop }
    }
    default:
      throw new Error(`unknown target ${id}`)
  }
}
