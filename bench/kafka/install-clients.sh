#!/usr/bin/env bash
# Installs the Kafka clients that only the client comparison (bench/kafka/clients.ts)
# uses, into their own directory outside the project's dependencies:
#
#   bash bench/kafka/install-clients.sh [DIR]     # default ~/.cache/weir/kafka-clients
#
# kafkajs 2.2.4 is plain JavaScript. @confluentinc/kafka-javascript cannot be a
# devDependency here: its install script (node-pre-gyp) first downloads a prebuilt binary
# from the project's GitHub releases and, when that fails, builds librdkafka, whose
# default static configure (--install-deps --source-deps-only) downloads zlib, OpenSSL,
# zstd and curl sources from their project sites. Neither is a package registry, so a
# plain `npm install` fails on machines that reach registries only.
# CKJS_LINKING=dynamic makes it build the bundled librdkafka against Debian's libraries
# (installed here with apt-get); that needs a C/C++ toolchain and ~10 minutes on 2 cores.
set -euo pipefail
CONFLUENT=1.10.1
KAFKAJS=2.2.4
DIR="${1:-$HOME/.cache/weir/kafka-clients}"
if node -e "require('$DIR/node_modules/@confluentinc/kafka-javascript'); require('$DIR/node_modules/kafkajs')" 2>/dev/null; then
  echo "installed: $DIR"
  exit 0
fi
need=()
for p in libssl-dev zlib1g-dev libzstd-dev libsasl2-dev libcurl4-openssl-dev liblz4-dev g++ make python3 pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || { echo "install-clients: missing ${need[*]} and no apt-get" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"weir-bench-kafka-clients","private":true}' > package.json
# Saved in DIR's package.json (a --no-save install of one would prune the other).
CKJS_LINKING=dynamic npm install --no-audit --no-fund "@confluentinc/kafka-javascript@$CONFLUENT" "kafkajs@$KAFKAJS"
node -e "require('$DIR/node_modules/@confluentinc/kafka-javascript'); require('$DIR/node_modules/kafkajs'); console.log('installed: $DIR')"
