// The servers under test, each started once per harness run and kept for
// every round. One row of TARGETS per target: its id (what --only names), its
// label in the report, and how to start it. A target says where to send calls
// and which process to account CPU, memory and GC to. To add a target, add a
// row (and, if it needs a tool that may be missing, a `needs`).
import { execFileSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { jsonLineUrl, startChild } from './children.js'
import { API_KEY_ENV, fullPolicy, passthroughPolicy, weightedPolicy } from './policies.js'
import { freePort } from './redis.js'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
const SLUICE_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

/** The path every call asks for; the proxies serve it under their /bench prefix. */
export const CALL_PATH = '/v1/items/42'
const PROXY_PREFIX = '/bench'
const READY_TIMEOUT_MS = 20_000

const TARGETS = [
  { id: 'direct', label: 'direct (upstream)', start: startDirect },
  { id: 'floor', label: 'floor: node:http + undici, nothing else', start: (ctx) => startNodeProxy('floor', 'floor-proxy.js', ctx) },
  { id: 'baseline', label: 'baseline @fastify/http-proxy', start: (ctx) => startNodeProxy('baseline', 'baseline-proxy.js', ctx) },
  { id: 'passthrough', label: 'sluice passthrough', start: (ctx) => startSluice('passthrough', passthroughPolicy, ctx) },
  { id: 'full', label: 'sluice full policy', needsRedis: true, start: (ctx) => startSluice('full', fullPolicy, ctx) },
  // The same full policy served by another build of sluice (--ref DIR, a dist/ folder): an A/B of two commits in one run.
  { id: 'full-ref', label: 'sluice full policy, reference build (--ref)', needsRedis: true, needsRef: true, start: (ctx) => startSluice('full-ref', fullPolicy, ctx, { cli: join(ctx.options.ref, 'cli.js') }) },
  // The full policy with OpenTelemetry tracing, exported to bench/otlp-sink.js: what a span per call costs, sampled at 100 % and 1 %.
  { id: 'full-traced', label: 'sluice full policy, tracing 100 %', needsRedis: true, start: (ctx) => startTraced('full-traced', '1', ctx) },
  { id: 'full-traced1', label: 'sluice full policy, tracing 1 %', needsRedis: true, start: (ctx) => startTraced('full-traced1', '0.01', ctx) },
  // A cost-weighted bucket beside the full policy's: reserve and settle, two Redis script calls a call.
  { id: 'weighted', label: 'sluice full policy, cost-weighted', needsRedis: true, start: (ctx) => startSluice('weighted', weightedPolicy, ctx) },
  // HTTPS upstream (bench/upstream.js --tls, a throwaway CA): what TLS, and h2, to the vendor cost.
  {
    id: 'floor-tls',
    label: 'floor, HTTPS upstream (HTTP/1.1 keep-alive)',
    needsTlsUpstream: true,
    // undici's default TLS trusts Node's roots, NODE_EXTRA_CA_CERTS included
    start: (ctx) => startNodeProxy('floor-tls', 'floor-proxy.js', ctx, { upstreamUrl: ctx.tlsUpstream.url, env: { NODE_EXTRA_CA_CERTS: ctx.tlsUpstream.caFile } }),
  },
  {
    id: 'full-tls',
    label: 'sluice full policy, HTTPS upstream (HTTP/1.1 keep-alive)',
    needsRedis: true,
    needsTlsUpstream: true,
    start: (ctx) => startSluice('full-tls', fullPolicy, ctx, { upstreamUrl: ctx.tlsUpstream.url, env: { SLUICE_CA_FILE: ctx.tlsUpstream.caFile } }),
  },
  {
    id: 'full-h2',
    label: 'sluice full policy, HTTPS upstream over h2',
    needsRedis: true,
    needsTlsUpstream: true,
    start: (ctx) => startSluice('full-h2', (url) => fullPolicy(url) + 'http2: true\n', ctx, { upstreamUrl: ctx.tlsUpstream.url, env: { SLUICE_CA_FILE: ctx.tlsUpstream.caFile } }),
  },
  // Not Node: where Node stands. Skipped with a note when not installed.
  { id: 'nginx', label: 'nginx proxy_pass (keep-alive upstream)', needs: 'nginx', start: startNginx },
  { id: 'haproxy', label: 'haproxy (keep-alive upstream)', needs: 'haproxy', start: startHaproxy },
]

export const TARGET_IDS = Object.freeze(TARGETS.map(t => t.id))
export const TARGET_LABELS = Object.freeze(Object.fromEntries(TARGETS.map(t => [t.id, t.label])))
/** Targets a smoke run leaves out: they need a tool CI does not have. */
export const OPTIONAL_TARGET_IDS = Object.freeze(TARGETS.filter(t => t.needs !== undefined).map(t => t.id))
/** Targets that run only when --ref names a reference build. */
export const REF_TARGET_IDS = Object.freeze(TARGETS.filter(t => t.needsRef === true).map(t => t.id))

export function needsRedis (id) {
  return TARGETS.find(t => t.id === id)?.needsRedis === true
}

export function needsTlsUpstream (id) {
  return TARGETS.find(t => t.id === id)?.needsTlsUpstream === true
}

/** Why target `id` cannot run here (a missing tool), or undefined when it can. */
export function missingTool (id) {
  const t = TARGETS.find(x => x.id === id)
  if (t?.needs === undefined) return undefined
  return which(t.needs) === undefined ? `${t.needs} is not installed (apt-get install ${t.needs})` : undefined
}

/** A minimal environment: nothing from the caller's SLUICE_* settings leaks into a run. */
function childEnv (extra = {}) {
  return { PATH: process.env.PATH, ...extra }
}

/**
 * How to start a Node process with `--trace-gc`: its GC lines go to stdout,
 * which is a file. V8 prints them with C stdio, fully buffered into a file, so
 * stdbuf (coreutils) makes it line-buffered and each run counts its own GCs.
 */
function nodeCommand (nodeArgs, scriptArgs) {
  const args = ['--trace-gc', ...nodeArgs, ...scriptArgs]
  const stdbuf = which('stdbuf')
  return stdbuf === undefined
    ? { command: process.execPath, args }
    : { command: stdbuf, args: ['-oL', process.execPath, ...args] }
}

function logDir (workDir) {
  const dir = join(workDir, 'logs')
  mkdirSync(dir, { recursive: true })
  return dir
}

/** The upstream: bench/upstream.js, its stdout (the listening line, GC lines) in a file. */
export async function startUpstream (workDir) {
  const stdoutFile = join(logDir(workDir), 'upstream.out')
  const child = await startChild({
    name: 'upstream',
    ...nodeCommand([], [join(BENCH, 'upstream.js')]),
    env: childEnv(),
    stdoutFile,
    findUrl: jsonLineUrl('listening'),
  })
  return { ...child, gcFile: stdoutFile }
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
 * Returns { id, label, url, pid, logFile?, gcFile?, stop }.
 */
export async function startTarget (id, ctx) {
  const t = TARGETS.find(x => x.id === id)
  if (t === undefined) throw new Error(`unknown target ${id}`)
  const started = await t.start(ctx)
  return { id, label: t.label, ...started }
}

async function startDirect ({ upstream }) {
  return { url: upstream.url + CALL_PATH, pid: upstream.pid, gcFile: upstream.gcFile, stop: async () => {} }
}

async function startNodeProxy (id, script, { upstream, workDir }, { upstreamUrl = upstream.url, env = {} } = {}) {
  const stdoutFile = join(logDir(workDir), `${id}.out`)
  const child = await startChild({
    name: id,
    ...nodeCommand([], [join(BENCH, script), upstreamUrl]),
    env: childEnv(env),
    stdoutFile,
    findUrl: jsonLineUrl('listening'),
  })
  return { url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, gcFile: stdoutFile, stop: child.stop }
}

async function startSluice (id, policy, { upstream, redis, workDir, options }, { upstreamUrl = upstream.url, env = {}, cli = SLUICE_CLI } = {}) {
  // sluice watches the folder of its policy file and reloads on any change
  // there: the policy gets a folder of its own, the log lives elsewhere, or
  // every log write would arm a reload in the middle of the run.
  const policyDir = join(workDir, 'policies', id)
  mkdirSync(policyDir, { recursive: true })
  const policyFile = join(policyDir, `${id}.yaml`)
  writeFileSync(policyFile, policy(upstreamUrl))
  const logFile = join(logDir(workDir), `${id}.log`)
  const args = ['start', '--policies', policyFile, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--log-level', 'info']
  if (needsRedis(id)) args.push('--redis', redis.url)
  const nodeArgs = options.cpuProf
    ? ['--cpu-prof', '--cpu-prof-dir', join(options.outDir, 'profiles'), '--cpu-prof-name', `sluice-${id}-${Date.now()}.cpuprofile`]
    : []
  const child = await startChild({
    name: `sluice ${id}`,
    ...nodeCommand(nodeArgs, [cli, ...args]),
    // A dummy value: the benchmark's upstream ignores it.
    env: childEnv({ ...(needsRedis(id) ? { [API_KEY_ENV]: 'bench-dummy-token' } : {}), ...env }),
    stdoutFile: logFile,
    findUrl: jsonLineUrl('proxy', 'listening'),
  })
  // GC lines land in the same file as the log: the log scan counts both.
  return { url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, logFile, gcFile: logFile, stop: child.stop }
}

/**
 * The full policy with tracing on, spans sampled at `ratio`. The load carries
 * no traceparent, so every call starts a trace; the spans go over OTLP/HTTP
 * (protobuf) to a receiver in a process of its own.
 */
async function startTraced (id, ratio, ctx) {
  const sink = await startChild({
    name: `otlp sink ${id}`,
    command: process.execPath,
    args: [join(BENCH, 'otlp-sink.js')],
    env: childEnv(),
    findUrl: jsonLineUrl('listening'),
  })
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: ratio }
  const sluice = await startSluice(id, fullPolicy, ctx, { env })
  return { ...sluice, stop: async () => { await sluice.stop(); await sink.stop() } }
}

// nginx and haproxy: one process, one worker thread, access log off, a pool
// of keep-alive connections to the upstream, /bench stripped as the Node
// proxies do.

async function startNginx ({ upstream, workDir }) {
  const dir = join(workDir, 'nginx')
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  const port = await freePort()
  const up = new URL(upstream.url)
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream bench_upstream {
    server ${up.host};
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000000;
    keepalive_timeout 65s;
    location ${PROXY_PREFIX}/ {
      proxy_pass http://bench_upstream/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`)
  const child = await startChild({
    name: 'nginx',
    command: which('nginx'),
    args: ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    env: childEnv(),
    ready: (exited) => answering(port, exited),
  })
  return { url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, stop: child.stop }
}

async function startHaproxy ({ upstream, workDir }) {
  const dir = join(workDir, 'haproxy')
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const up = new URL(upstream.url)
  const conf = join(dir, 'haproxy.cfg')
  writeFileSync(conf, `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  http-request replace-path ${PROXY_PREFIX}(/.*) \\1
  server up ${up.host}
`)
  const child = await startChild({
    name: 'haproxy',
    command: which('haproxy'),
    args: ['-db', '-f', conf],
    env: childEnv(),
    ready: (exited) => answering(port, exited),
  })
  return { url: child.url + PROXY_PREFIX + CALL_PATH, pid: child.pid, stop: child.stop }
}

/** Resolves with the URL once something accepts TCP connections on `port`, undefined if the process exits first. */
async function answering (port, exited) {
  const state = { gone: false }
  exited.then(() => { state.gone = true })
  const end = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < end && !state.gone) {
    const ok = await new Promise(resolve => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return `http://127.0.0.1:${port}`
    await sleep(50)
  }
  return undefined
}

function which (name) {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
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
