#!/usr/bin/env bash
# The whole test suite: typecheck, lint (incl. folder dependency rules), Chromium if
# missing, then every test file under test/ with Node's test runner (among them
# test/package/pack.test.ts: npm pack, install into fresh projects, weir init).
# `npm test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; node_modules/.bin/tsc --noEmit -p .
echo "== lint"; node_modules/.bin/eslint --no-error-on-unmatched-pattern src test bench examples scripts
node_modules/.bin/depcruise src --config .dependency-cruiser.cjs --output-type err
# Debian's Chromium for the dashboard's browser test: installed here when missing
# (idempotent), so `npm test` on a fresh machine runs that test instead of failing it.
echo "== chromium"; bash scripts/install-chromium.sh
echo "== tests"
shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# --test-force-exit: a file whose tests are done exits even if it left a handle open (a
# client socket, a timer); without it Node's runner waits for that file forever.
# --test-timeout (per test, and per file): a test that hangs fails with its name instead
# of stalling the run until CI's limit. The slowest file (a kill test under load) takes
# ~2 min, so 15 min only catches a real hang.
exec node --import tsx --test --test-reporter=spec --test-concurrency="${WEIR_TEST_CONCURRENCY:-2}" \
  --test-force-exit --test-timeout="${WEIR_TEST_TIMEOUT_MS:-900000}" "${files[@]}"
