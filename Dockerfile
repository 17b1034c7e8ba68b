# syntax=docker/dockerfile:1
# Sluice as an image: `docker build -t sluice:0.1.0 --build-arg VERSION=0.1.0 .`
#
# Two stages. `build` installs every dependency (better-sqlite3 compiles here, with the full
# image's python3/make/g++), runs `npm run build`, then prunes to production dependencies.
# The runtime stage is the slim image with only what `sluice start` reads: package.json (the
# package root and version), node_modules, the compiled dist/, bin/, migrations/ and the
# operator page's HTML and CSS. Both stages are Debian 13 trixie, so the native module compiled
# in the first loads in the second (same glibc). test/image-runtime.test.ts assembles this
# stage's files the way the COPY lines below say and runs its ENTRYPOINT + CMD.
#
# Node 24, the active LTS (Node 20 ended on 2026-04-30; 22 is in maintenance until 2027-04-30).
# Its uWebSockets.js build (@btc-vision/uwebsockets.js, the official v20.57.0 binaries) needs
# glibc 2.38, hence trixie (2.41) rather than bookworm (2.36). CI runs the whole suite on Node 24
# in a Debian 13 root (docs/node-versions.md). `--build-arg NODE_VERSION=22` also works here.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-trixie AS build
WORKDIR /app
# Dependencies first, so a source change reuses the installed layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Everything tsconfig.build.json compiles (bench/ imports test/helpers); .dockerignore keeps
# node_modules, dist and data directories out.
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-trixie-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Durable webhook ingestion engine" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/deploy.md"
ENV NODE_ENV=production \
    SLUICE_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080 \
    SLUICE_ADMIN_HOST=0.0.0.0 \
    SLUICE_ADMIN_PORT=8081
# SLUICE_ADMIN_HOST is 0.0.0.0 because a container's loopback is its own: the host decides who
# reaches the admin port (publish it as 127.0.0.1:8081:8081), and every /v1/ route needs a token.
WORKDIR /app
# The code stays root-owned and read-only for the engine; only /data is the node user's.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/journal ./dist/journal
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/ui ./dist/ui
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
# The operator page's HTML and every stylesheet it inlines (src/admin/page.ts names them); the
# folder whole, so a stylesheet added later cannot be missing from the image.
COPY --from=build /app/src/admin/ui ./src/admin/ui
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080 8081
# /readyz answers 503 while the engine starts or drains, 200 once it accepts events. The slim
# image has no curl; Node 18+ has fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, no shell and no npm: node is PID 1 and receives docker stop's SIGTERM itself (npm
# start would also run its prestart build). Sluice handles SIGTERM/SIGINT (graceful drain
# bounded by SLUICE_SHUTDOWN_TIMEOUT_MS: give `docker stop -t` / stop_grace_period more than
# that) and starts no child processes, so there are no zombies for an init to reap.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=4", "--single-threaded-gc", "bin/sluice.js"]
CMD ["start"]
