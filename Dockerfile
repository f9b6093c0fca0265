# syntax=docker/dockerfile:1
#
# threetone-sync runtime image: the compiled CLI (dist/), production
# dependencies and the migrations.
#
#   docker build -t threetone-sync .
#   docker run --rm --env-file .env threetone-sync migrate
#   docker run --rm --env-file .env threetone-sync            # worker (default)

# Node 24 (LTS until April 2028); the package also runs on 22 (engines: >=22).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: TypeScript compiled to dist/ ---------------------------------------
# The image runs compiled JavaScript rather than tsx: a third less memory at
# start (see BENCHMARKS.md) and no transpiling on every start.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: `prepare` would compile before src/ is here, and the
# compiler needs none of the others.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production node_modules only --------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Only the manifests, so this layer is rebuilt only when dependencies change.
COPY package.json package-lock.json ./
# tsx and embedded-postgres are devDependencies: not in the image. No install
# scripts: `prepare` needs the compiler, and msgpackr's optional native
# addon loads from its prebuilt package without one.
# test/deploy/runtime-stage.test.ts rebuilds this stage and the runtime one
# in a folder and runs migrate, sync and the worker from it.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts

# ---- runtime -----------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="threetone-sync" \
      org.opencontainers.image.description="Keeps a Postgres copy (current state + full version history) of a Threetone workspace's batch-calling jobs; BullMQ worker on Redis." \
      org.opencontainers.image.licenses="MIT"

# The sync's live heap is a few tens of MB; without a ceiling V8 lets garbage pile up to ~200 MB
# before collecting it. 128 MB keeps peak RSS under 150 MB at no measurable cost (BENCHMARKS.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=128
WORKDIR /app

# Everything stays owned by root and world-readable: the app never writes
# under /app, so no --chown is needed. package.json: "type": "module" for dist/.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY migrations ./migrations

# The official image's unprivileged user.
USER node

# No tini / --init: node is PID 1 and the worker installs its own SIGTERM
# handler (graceful drain within SHUTDOWN_TIMEOUT_MS, default 30 s). PID 1 gets
# no default signal actions, so a command that installs no handler (e.g. a
# short `migrate`) only stops at the orchestrator's kill timeout; use
# `docker run --init` / compose `init: true` if that matters to you.
STOPSIGNAL SIGTERM

# The worker's /healthz answers as long as its event loop runs. No curl in a
# slim image: Node's own fetch. It asks HTTP_HOST:HTTP_PORT as the worker
# binds them (127.0.0.1 when bound to every address). HTTP_PORT=0 means no
# endpoint, so nothing to ask: healthy. Other commands (migrate, sync, the
# simulator) serve no /healthz: compose turns the check off for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port = process.env.HTTP_PORT || '8080'; if (port === '0') process.exit(0); const bound = process.env.HTTP_HOST || '127.0.0.1'; const host = ['0.0.0.0', '::'].includes(bound) ? '127.0.0.1' : bound.includes(':') ? `[${bound}]` : bound; fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
