# One image for every pod: `alcor-operator run` (the operator), `macd` (the MAC
# allocator) and `dhcpd` (the DHCPv4 server) are subcommands of one CLI.
#   docker build -t alcor-operator:0.3.0 .

# Build: compile the TypeScript sources to dist/.
FROM node:24 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Runs the `node` dev dependency's install script (allowed in package.json),
# so `npm run build` uses the pinned Node 24 and TypeScript.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# dhcpd's ICMP echo helper (conflictDetection: ping), statically linked.
RUN mkdir -p libexec && gcc -O2 -static -s -o libexec/alcor-icmp-probe src/dhcpd/ping/icmp-probe.c

# Production dependencies only.
FROM node:24 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: Node 24, production dependencies only, non-root (uid 65532, as
# distroless "nonroot"); npm is removed, nothing in the image needs it.
FROM node:24-slim
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/libexec ./libexec
COPY package.json ./
COPY bin ./bin
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/bin/alcor-operator.js"]
CMD ["run"]
