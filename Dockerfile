# Production image: a plain Node server that needs no checkout of the access repository (policies
# are read from JIT_REPOSITORIES through the GitHub API). Point DATABASE_URL at a managed PostgreSQL:
# the embedded database is a development dependency, not installed here (--omit=optional), and
# NODE_ENV=production refuses to start without DATABASE_URL (JIT_PRODUCTION_CONFIG). Configuration
# comes from the environment (see README). test/e2e/image.test.ts builds this file set and starts it.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
# Reachable from outside the container; outside the image the default stays 127.0.0.1.
ENV HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY app.yml ./
USER node
EXPOSE 3000
# node, not curl (the slim image has none); 200 only when /health says ok.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# A 1 MB young generation: the idle server holds about 11 MB less (docs/performance.md); the app
# waits on I/O, so the extra scavenges cost nothing that shows.
CMD ["node", "--max-semi-space-size=1", "src/main.ts"]
