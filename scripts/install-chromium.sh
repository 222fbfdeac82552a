#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser test (test/web/dashboard-browser.test.ts,
# driven by playwright-core with executablePath /usr/bin/chromium). Idempotent: does
# nothing when /usr/bin/chromium exists. Needs root (or sudo) and network access to the
# Debian mirrors; .ci/run calls it before the tests.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "install-chromium: need root or sudo" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
