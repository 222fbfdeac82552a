#!/usr/bin/env bash
# The whole test suite: typecheck, lint (incl. folder dependency rules), the API docs
# check (TSDoc on every export), Chromium if
# missing, then every test file under test/ with Node's test runner (among them
# test/package/pack.test.ts: npm pack, install into fresh projects, weir init).
# `npm test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; node_modules/.bin/tsc --noEmit -p .
echo "== lint"; node_modules/.bin/eslint --no-error-on-unmatched-pattern src test bench examples scripts
node_modules/.bin/depcruise src --config .dependency-cruiser.cjs --output-type err
# Every export of 'weir' and 'weir/testing' has TSDoc (typedoc.json treats TypeDoc's
# validation warnings as errors; `npm run docs` writes the HTML). No HTML here, and no
# second type check (tsc just ran): ~7 s of CPU.
echo "== docs"; node_modules/.bin/typedoc --emit none --skipErrorChecking
# Debian's Chromium for the dashboard's browser test: installed here when missing
# (idempotent), so `npm test` on a fresh machine runs that test instead of failing it.
echo "== chromium"; bash scripts/install-chromium.sh
echo "== tests"
shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# --test-timeout (per test, and per file): a test that hangs fails with its name instead
# of stalling the run until CI's limit, and a file that left a handle open (a client
# socket, a timer) is ended. The slowest file (a kill test under load) takes ~2 min, so
# 10 min only catches a real hang. (Not --test-force-exit: on Node 20 it cuts the
# reporters' output short, the failures and the counts with it.)
# Output: dots on stdout, the full spec listing in test-results/spec.txt, then a summary
# with every failure and the slowest tests (scripts/test-summary.mjs).
mkdir -p test-results
# The AWS SDK's notice that its 2027 releases need Node 22, once per test process.
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=NodeVersionSupportWarning"
status=0
node --import tsx --test --test-concurrency="${WEIR_TEST_CONCURRENCY:-2}" \
  --test-timeout="${WEIR_TEST_TIMEOUT_MS:-900000}" \
  --test-reporter=dot --test-reporter-destination=stdout \
  --test-reporter=spec --test-reporter-destination=test-results/spec.txt \
  "${files[@]}" || status=$?
node scripts/test-summary.mjs test-results/spec.txt
echo "(full listing: test-results/spec.txt)"
exit "$status"
