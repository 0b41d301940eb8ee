#!/usr/bin/env bash
# Runs the browser tests: Debian's Chromium (installed when missing), driven
# by playwright-core from web/'s npm dependencies (installed when missing),
# against the custom ffmpeg's hlsbridge output.
#
#   FFMPEG=build/ffmpeg/bin/ffmpeg tests/browser/run.sh [TEST...]
#
# TEST: server live event vod hostile demo (default: all, in that order).
# Exits non-zero when any test fails; each failure says why on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/../../scripts/lib.sh"

export FFMPEG="${FFMPEG:-$HLSBRIDGE_ROOT/build/ffmpeg/bin/ffmpeg}"

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(server live event vod hostile demo)

ensure_packages chromium
"$HLSBRIDGE_ROOT/web/install-deps.sh"

needs_ffmpeg=
for t in "${tests[@]}"; do
    [ "$t" = server ] || needs_ffmpeg=1
done
if [ -n "$needs_ffmpeg" ]; then
    [ -x "$FFMPEG" ] || die "no ffmpeg at $FFMPEG: build it (scripts/build-ffmpeg.sh) or set FFMPEG="
    if [ "${FFMPEG_MUXER:-hlsbridge}" = hlsbridge ]; then
        has_hlsbridge_muxer "$FFMPEG" || die "$FFMPEG has no hlsbridge muxer"
    fi
fi

failed=()
for t in "${tests[@]}"; do
    case "$t" in
    server) cmd=(node "$here/server-test.js") ;;
    live) cmd=(node "$here/live.js") ;;
    event | vod | hostile) cmd=(node "$here/finished.js" "$t") ;;
    demo) cmd=(node "$here/demo-test.js") ;;
    *) die "unknown test '$t' (server live event vod hostile demo)" ;;
    esac
    log "browser test: $t"
    if ! "${cmd[@]}"; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    die "browser tests failed: ${failed[*]}"
fi
log "browser tests passed: ${tests[*]}"
