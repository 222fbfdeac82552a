#!/usr/bin/env bash
# Regenerates test/nexmark/fixtures/beam-*.jsonl.gz: events from Apache Beam's own Nexmark
# generator (Java), compiled from Beam's source, for test/nexmark/generator-fixture.test.ts.
#
#   BEAM_SRC=/path/to/beam bash test/nexmark/fixture-tool/generate.sh
#
# BEAM_SRC is a checkout of github.com/apache/beam (git clone --depth 1 …); the generator
# classes have not changed in years (the fixtures in the repo were made from the files of
# the master branch, 2026). Beam's source is read at generation time and not kept in weir.
# Needs Java 17 and Maven (dependencies from Maven Central: beam-sdks-java-core 2.73.0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${BEAM_SRC:?set BEAM_SRC to a checkout of apache/beam}"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
node "$here/extract-beam.js" "$BEAM_SRC" "$build/src"
mvn -q -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$build/cp.txt"
cp="$(cat "$build/cp.txt")"
javac -nowarn -d "$build/classes" -cp "$cp" $(find "$build/src" "$here/java" -name '*.java')
out="$here/../fixtures"
mkdir -p "$out"
for preset in default variant square bigids; do
  java -cp "$build/classes:$cp" weir.nexmark.DumpEvents "$preset" "$out/beam-$preset.jsonl.gz"
  echo "wrote $out/beam-$preset.jsonl.gz"
done
