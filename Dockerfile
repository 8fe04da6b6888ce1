# Production image: a plain Node server. Point DATABASE_URL at a managed PostgreSQL; the embedded
# database is for local use only. Configuration comes from the environment (see README).
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY app.yml ./
USER node
EXPOSE 3000
CMD ["node", "src/main.ts"]
