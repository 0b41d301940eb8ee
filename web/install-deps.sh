#!/usr/bin/env bash
# Installs what web/ needs: Node.js and npm (Debian packages, unless a node
# and npm are already on PATH) and web/'s npm dependencies (hls.js,
# playwright-core), from package-lock.json when present.
# Skips npm when node_modules already matches the lock file.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"

web="$HLSBRIDGE_ROOT/web"

# A node that did not come from Debian (e.g. with its own npm) is kept:
# installing Debian's npm next to it would fight over the same files.
command -v node >/dev/null 2>&1 || ensure_packages nodejs
command -v npm >/dev/null 2>&1 || ensure_packages npm

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "Node.js >= 18 needed, found $(node --version)"

cd "$web"
stamp=node_modules/.package-lock.json
if [ -f package-lock.json ] && [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] &&
    [ -f node_modules/hls.js/dist/hls.min.js ] && [ -f node_modules/playwright-core/package.json ]; then
    exit 0
fi
if [ -f package-lock.json ]; then
    log "installing npm dependencies of web/ (npm ci)"
    npm ci --no-audit --no-fund >&2
else
    log "installing npm dependencies of web/ (npm install)"
    npm install --no-audit --no-fund >&2
fi
[ -f node_modules/hls.js/dist/hls.min.js ] || die "hls.js missing after npm install"
