// The five servers under test, each started once per harness run and kept
// for every round: the upstream itself (direct), the floor (bench/floor-proxy.js),
// the bare @fastify/http-proxy baseline, sluice passthrough and sluice with the
// full policy. Each target
// says where to send calls and which process to account CPU and memory to.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jsonLineUrl, startChild } from './children.js'
import { API_KEY_ENV, fullPolicy, passthroughPolicy, weightedPolicy } from './policies.js'

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
  'floor-tls': 'floor, HTTPS upstream (HTTP/1.1 keep-alive)',
  'full-tls': 'sluice full policy, HTTPS upstream (HTTP/1.1 keep-alive)',
  'full-h2': 'sluice full policy, HTTPS upstream over h2',
  weighted: 'sluice full policy, cost-weighted',
})

/** The two reference proxies sluice is measured against, by target id. */
const REFERENCE_PROXIES = Object.freeze({ floor: 'floor-proxy.js', baseline: 'baseline-proxy.js' })

/** A minimal environment: nothing from the caller's SLUICE_* settings leaks into a run. */
function childEnv (extra = {}) {
  return { PATH: process.env.PATH, ...extra }
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

/** The same upstream over TLS (h2 and HTTP/1.1), with a throwaway CA made in `workDir`. */
export async function startTlsUpstream (workDir) {
  const certs = makeBenchCertificates(workDir)
  const child = await startChild({
    name: 'tls upstream',
    command: process.execPath,
    args: [join(BENCH, 'upstream.js'), '--tls', certs.certFile, certs.keyFile],
    env: childEnv(),
    findUrl: jsonLineUrl('listening'),
  })
  return Object.assign(child, { caFile: certs.caFile })
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
    case 'floor-tls':
    case 'baseline': {
      const tls = id === 'floor-tls'
      const child = await startChild({
        name: id,
        command: process.execPath,
        args: [join(BENCH, REFERENCE_PROXIES[tls ? 'floor' : id]), tls ? ctx.tlsUpstream.url : upstream.url],
        // undici's default TLS trusts Node's roots, NODE_EXTRA_CA_CERTS included
        env: childEnv(tls ? { NODE_EXTRA_CA_CERTS: ctx.tlsUpstream.caFile } : {}),
        findUrl: jsonLineUrl('listening'),
      })
      return { id, label: TARGET_LABELS[id], url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, stop: child.stop }
    }
    case 'passthrough':
    case 'full':
    case 'full-tls':
    case 'full-h2':
    case 'weighted': {
      const full = id !== 'passthrough'
      const tls = id === 'full-tls' || id === 'full-h2'
      const policyFile = join(workDir, `${id}.yaml`)
      const upstreamUrl = tls ? ctx.tlsUpstream.url : upstream.url
      const policy = id === 'weighted' ? weightedPolicy(upstreamUrl) : full ? fullPolicy(upstreamUrl) + (id === 'full-h2' ? 'http2: true\n' : '') : passthroughPolicy(upstreamUrl)
      writeFileSync(policyFile, policy)
      const logFile = join(workDir, `${id}.log`)
      const args = ['start', '--policies', policyFile, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--log-level', 'info']
      if (full) args.push('--redis', ctx.redis.url)
      const nodeArgs = options.cpuProf
        ? ['--cpu-prof', '--cpu-prof-dir', join(options.outDir, 'profiles'), '--cpu-prof-name', `sluice-${id}-${Date.now()}.cpuprofile`]
        : []
      const child = await startChild({
        name: `sluice ${id}`,
        command: process.execPath,
        args: [...nodeArgs, SLUICE_CLI, ...args],
        // A dummy value: the benchmark's upstream ignores it.
        env: childEnv({
          ...(full ? { [API_KEY_ENV]: 'bench-dummy-token' } : {}),
          ...(tls ? { SLUICE_CA_FILE: ctx.tlsUpstream.caFile } : {}),
        }),
        stdoutFile: logFile,
        findUrl: jsonLineUrl('proxy', 'listening'),
      })
      return { id, label: TARGET_LABELS[id], url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, logFile, stop: child.stop }
    }
    default:
      throw new Error(`unknown target ${id}`)
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl; removed with `workDir`. */
function makeBenchCertificates (workDir) {
  const f = (name) => join(workDir, name)
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=sluice bench CA', '-keyout', f('bench-ca.key'), '-out', f('bench-ca.pem'))
  openssl('req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', f('bench-server.key'), '-out', f('bench-server.csr'))
  writeFileSync(f('bench-server.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl('x509', '-req', '-days', '2', '-set_serial', '1', '-in', f('bench-server.csr'), '-CA', f('bench-ca.pem'), '-CAkey', f('bench-ca.key'),
    '-extfile', f('bench-server.ext'), '-out', f('bench-server.pem'))
  return { caFile: f('bench-ca.pem'), certFile: f('bench-server.pem'), keyFile: f('bench-server.key') }
}
