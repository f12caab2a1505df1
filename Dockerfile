# The gateway for production: node:20, built in one stage (Prisma client, the
# console's bundle, the server's bundle), run in another with only the runtime
# dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY codegen.ts prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY schema ./schema
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 DATA_DIR=/app/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY schema ./schema
COPY --from=build /app/src ./src
COPY --from=build /app/dist ./dist
# The embedded database (without DATABASE_URL) lives in DATA_DIR: the node user
# must own it, and a volume keeps it across containers. Created before VOLUME,
# so a new volume starts with this owner.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:4000/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# --max-semi-space-size=32: see "The Node process" in the README (a larger young generation, less GC).
CMD ["node", "--max-semi-space-size=32", "--enable-source-maps", "dist/server/main.js"]
