# syntax=docker/dockerfile:1
#
# The sluice image: compiled with the dev toolchain, run with production
# dependencies only, as a non-root user, on a read-only root filesystem.
#
#   docker build -t sluice .
#   docker run --rm --read-only -e SLUICE_HOST=0.0.0.0 -p 8080:8080 -p 9090:9090 sluice
#   docker run --rm -v "$PWD/policies:/etc/sluice/policies:ro" sluice validate
#
# SLUICE_HOST stays 127.0.0.1, the sidecar default: in a pod
# the app shares the container's network namespace, so loopback is its way in
# and nothing outside the pod can use the credentials sluice injects. Set
# SLUICE_HOST=0.0.0.0 only for a standalone sluice behind a Service (the Helm
# chart does, with standalone.enabled), or to publish ports with docker run.
#
# PID 1: node runs directly, without tini. The kernel ignores signals that PID 1
# has no handler for, but sluice installs its own for SIGTERM and SIGINT
# (drain, then exit 0) and SIGHUP (reload), see src/cli.ts, and it starts no
# child processes, so there are no zombies to reap.

# One Node.js major for every stage. 24 is LTS until April 2028 and is in the
# CI test matrix; a bump is a one-line change here and in .github/workflows/ci.yml.
ARG NODE_IMAGE=node:24-trixie-slim

# ---- build: compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The incremental build-info file is of no use at run time.
RUN npm run build && rm -f dist/.tsbuildinfo

# ---- prod-deps: production dependencies only ----
# A stage of its own (not `npm prune` after the build) so this layer is cached
# until package-lock.json changes. --ignore-scripts: `prepare` runs tsc, a dev
# dependency, and no production dependency has an install script.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# npm and corepack are never run in this image; removing them keeps their
# bundled dependencies out of the image and out of vulnerability scans.
# A fixed, non-root uid (not the base image's `node`, uid 1000, which often
# exists on hosts too) so Kubernetes runAsNonRoot can check it.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sluice

# package.json is needed at run time: its "type": "module" makes dist/*.js ESM.
# Everything is owned by root and read-only to the sluice user, who writes
# nothing: logs go to stdout, policies and secrets are only read.
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schema ./schema
# The example policies are the default set; mount your own folder (the Helm
# chart mounts a ConfigMap) over /etc/sluice/policies.
COPY policies /etc/sluice/policies

# SLUICE_POLICIES as an environment default rather than a --policies flag in
# CMD: a flag would win over any SLUICE_POLICIES given at run time, and
# `validate` and `explain` without arguments read it too.
ENV NODE_ENV=production \
    SLUICE_POLICIES=/etc/sluice/policies

USER 10001:10001
# 8080 proxy, 9090 admin (/healthz, /readyz, /metrics, /policies).
EXPOSE 8080 9090

# No curl in a slim image: node asks the admin listener itself. Kubernetes
# ignores HEALTHCHECK and uses the chart's probes instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SLUICE_ADMIN_PORT || 9090) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["start"]
