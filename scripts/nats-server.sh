#!/usr/bin/env bash
# A NATS server with JetStream on 127.0.0.1 for the NATS connector tests (Debian's
# `nats-server`; `scripts/nats-server.sh install` installs it through apt).
#
#   scripts/nats-server.sh install            apt-get install nats-server (no-op when present)
#   scripts/nats-server.sh start DIR [PORT]   start `nats-server -js` with its store in DIR on a
#                                             free port (or PORT); prints "port=N pid=P" once
#                                             it accepts connections. User `weir`, password
#                                             `weir-secret`.
#   scripts/nats-server.sh stop DIR           stop it (SIGTERM, then SIGKILL)
set -euo pipefail
die() { echo "nats-server: $*" >&2; exit 1; }

install() {
  command -v nats-server >/dev/null && return 0
  command -v apt-get >/dev/null || die "nats-server not installed and no apt-get to install it"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null \
    || die "apt-get install nats-server failed"
}

start() {
  local dir="${1:?usage: nats-server.sh start DIR [PORT]}" port="${2:-}"
  command -v nats-server >/dev/null || die "nats-server not found (run scripts/nats-server.sh install, or apt-get install nats-server)"
  mkdir -p "$dir/store"
  dir="$(cd "$dir" && pwd)"
  if [ -z "$port" ]; then
    port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  fi
  cat >"$dir/nats.conf" <<CONF
listen: 127.0.0.1:$port
jetstream { store_dir: "$dir/store" }
authorization { user: weir, password: weir-secret }
CONF
  nohup nats-server -c "$dir/nats.conf" >"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  local deadline=$((SECONDS + ${WEIR_NATS_START_TIMEOUT_S:-60}))
  until grep -q "Server is ready" "$dir/server.log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/server.log" >&2; die "nats-server exited during start (log above)"; }
    [ "$SECONDS" -lt "$deadline" ] || { kill -9 "$pid" 2>/dev/null || true; die "nats-server not ready on 127.0.0.1:$port within ${WEIR_NATS_START_TIMEOUT_S:-60}s"; }
    sleep 0.1
  done
  echo "port=$port pid=$pid"
}

stop() {
  local dir="${1:?usage: nats-server.sh stop DIR}"
  [ -f "$dir/pid" ] || return 0
  local pid
  pid="$(cat "$dir/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 install | start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
