#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) broker on 127.0.0.1 for the Kafka connector tests
# and bench/kafka. The server jars come from Maven Central (org.apache.kafka:kafka_2.13
# and its runtime dependencies, through `mvn dependency:copy-dependencies` on a tiny pom)
# and are cached between runs under $WEIR_CACHE_DIR (default ~/.cache/weir).
#
#   scripts/kafka-broker.sh fetch                 download the jars (no-op when cached)
#   scripts/kafka-broker.sh start DIR [PORT]      format DIR and start a broker in the
#                                                 background; prints "port=N sasl_port=M pid=P"
#                                                 once it accepts connections
#   scripts/kafka-broker.sh stop DIR              stop the broker started in DIR (SIGTERM, then SIGKILL)
#
# The broker listens on PLAINTEXT 127.0.0.1:PORT and on SASL_PLAINTEXT (PLAIN, user
# `weir`, password `weir-secret`) 127.0.0.1:PORT+1; topics are not auto-created.
# Fails with one line naming what is missing (java, mvn, the jars).
set -euo pipefail
KAFKA_VERSION="${WEIR_KAFKA_VERSION:-4.4.0}"
CACHE="${WEIR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weir}/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"

die() { echo "kafka-broker: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+; Debian: apt-get install openjdk-17-jre-headless)"
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "Java 17+ needed for Kafka $KAFKA_VERSION, found: $(java -version 2>&1 | head -1)"
}

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: cannot fetch the Kafka server jars (Debian: apt-get install maven)"
  local work
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>weir</groupId><artifactId>kafka-server-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$LIBS.tmp"
  if ! mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$work/mvn.log" 2>&1; then
    tail -20 "$work/mvn.log" >&2
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log above)"
  fi
  ls "$LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "mvn finished but kafka_2.13 jar is missing in $LIBS.tmp"
  rm -rf "$LIBS" && mv "$LIBS.tmp" "$LIBS" && touch "$LIBS/.complete"
  rm -rf "$work"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{const p=s.address().port;const t=require("net").createServer();t.once("error",()=>{process.exit(3)});t.listen(p+1,"127.0.0.1",()=>{console.log(p);t.close();s.close()})})'
}

start() {
  local dir="${1:?usage: kafka-broker.sh start DIR [PORT]}" port="${2:-}"
  need_java
  [ -f "$LIBS/.complete" ] || die "Kafka jars not fetched: run scripts/kafka-broker.sh fetch (cache $LIBS)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -z "$port" ]; then
    for _ in 1 2 3 4 5; do port="$(free_port)" && break; done
  fi
  [ -n "$port" ] || die "no free port pair on 127.0.0.1"
  local sasl_port=$((port + 1)) cport
  cport="$(free_port)"
  # Reuse the data of an earlier start in DIR (a restart keeps topics and offsets).
  if [ ! -f "$dir/data/meta.properties" ]; then
    mkdir -p "$dir/data"
  fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="weir" password="weir-secret" user_weir="weir-secret";
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
transaction.max.timeout.ms=900000
log.flush.interval.messages=9223372036854775807
PROPS
  local cp="$LIBS/*"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id
    id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    java -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "formatting the KRaft storage in $dir/data failed"; }
  fi
  # A restart may come up on new ports: the controller's voter address is in the config,
  # and a single voter in a static quorum may change address.
  nohup java -Xms256m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -cp "$cp" kafka.Kafka "$dir/server.properties" >"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  echo "$port" >"$dir/port"
  # Ready = the PLAINTEXT port accepts connections (bounded: 120 s on a loaded machine).
  local deadline=$((SECONDS + ${WEIR_KAFKA_START_TIMEOUT_S:-120}))
  until node -e 'const s=require("net").connect(+process.argv[1],"127.0.0.1");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$port" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -30 "$dir/server.log" >&2; die "broker exited during start (log above, $dir/server.log)"; }
    [ "$SECONDS" -lt "$deadline" ] || { kill -9 "$pid" 2>/dev/null || true; tail -30 "$dir/server.log" >&2; die "broker did not accept connections on 127.0.0.1:$port within ${WEIR_KAFKA_START_TIMEOUT_S:-120}s"; }
    sleep 0.3
  done
  echo "port=$port sasl_port=$sasl_port pid=$pid"
}

stop() {
  local dir="${1:?usage: kafka-broker.sh stop DIR}"
  [ -f "$dir/pid" ] || return 0
  local pid
  pid="$(cat "$dir/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case "${1:-}" in
  fetch) need_java; fetch ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 fetch | start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
