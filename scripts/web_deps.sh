#!/usr/bin/env bash
# Installs web/'s pinned npm packages (npm ci) when web/node_modules is
# missing or older than web/package-lock.json; called by the build.
# Usage: bash scripts/web_deps.sh path/to/web
set -euo pipefail
web=${1:?usage: web_deps.sh WEB_DIR}
stamp=$web/node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! "$web/package-lock.json" -nt "$stamp" ] &&
   [ -f "$web/node_modules/echarts/dist/echarts.min.js" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "web_deps: npm is missing (run 'make deps')" >&2; exit 1; }
cd "$web"
# Browsers come from Debian (/usr/bin/chromium); never download one.
PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
touch "$stamp"
