# The image that runs `megafs serve` with its data on a volume. Mirrors .ci/run's
# install steps (the server needs no FUSE; better-sqlite3 builds with python3/make/g++).
FROM node:20-bookworm-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/megafs
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && node dist/src/server/shares/prebuild.js && npm prune --omit=dev
VOLUME /data
EXPOSE 8080
USER node
ENTRYPOINT ["node", "bin/megafs"]
CMD ["serve", "--data", "/data", "--listen", "0.0.0.0:8080"]
