#!/usr/bin/env bash
# Runs the browser tests: Debian's Chromium (installed when missing), driven
# by playwright-core from web/'s npm dependencies (installed when missing),
# against the custom ffmpeg's hlsbridge output.
#
#   FFMPEG=build/ffmpeg/bin/ffmpeg tests/browser/run.sh [TEST...]
#
# TEST: server live event vod hostile demo, and the fMP4 runs live-fmp4
# event-fmp4 vod-fmp4 live-av1 event-av1 discont-fmp4, and the AES-128 runs
# event-aes event-aes-fmp4 rekey rekey-fmp4, the ABR ladder runs ladder
# ladder-fmp4, the encoder restart runs restart restart-fmp4, and the HTTP
# origin runs origin origin-fmp4 (nginx, installed when missing) (default:
# all, in that order). A -fmp4 run is the
# test of that name with fMP4 segments (H.264 + AAC), an -av1 run the same
# with AV1 + Opus, an -aes run with segments encrypted (a generated key).
# Exits non-zero when any test fails; each failure says why on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/../../scripts/lib.sh"

export FFMPEG="${FFMPEG:-$HLSBRIDGE_ROOT/build/ffmpeg/bin/ffmpeg}"

tests=("$@")
[ ${#tests[@]} -gt 0 ] ||
    tests=(server live event vod hostile demo live-fmp4 event-fmp4 vod-fmp4 live-av1
        event-av1 discont-fmp4 event-aes event-aes-fmp4 rekey rekey-fmp4 ladder ladder-fmp4
        restart restart-fmp4 origin origin-fmp4)

ensure_packages chromium
for t in "${tests[@]}"; do
    case "$t" in origin | origin-*) ensure_packages nginx ;; esac
done
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
    name=${t%%-*}
    media=()
    case "$t" in
    *-aes-fmp4) media=(HLS_SEGMENT_TYPE=fmp4 HLS_ENCRYPT=1) ;;
    *-aes) media=(HLS_ENCRYPT=1) ;;
    *-fmp4) media=(HLS_SEGMENT_TYPE=fmp4) ;;
    *-av1) media=(HLS_SEGMENT_TYPE=fmp4 HLS_CODECS=av1) ;;
    *-*) die "unknown test '$t'" ;;
    esac
    case "$name" in
    server) cmd=(node "$here/server-test.js") ;;
    live) cmd=(node "$here/live.js") ;;
    event | vod | hostile) cmd=(node "$here/finished.js" "$name") ;;
    demo) cmd=(node "$here/demo-test.js") ;;
    discont) cmd=(node "$here/discont.js") ;;
    rekey) cmd=(node "$here/rekey.js") ;;
    ladder) cmd=(node "$here/ladder.js") ;;
    restart) cmd=(node "$here/restart.js") ;;
    origin) cmd=(node "$here/origin.js") ;;
    *) die "unknown test '$t' (server live event vod hostile demo discont rekey ladder restart origin, -fmp4 -av1 -aes -aes-fmp4)" ;;
    esac
    log "browser test: $t"
    if ! env ${media[@]+"${media[@]}"} "${cmd[@]}"; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    die "browser tests failed: ${failed[*]}"
fi
log "browser tests passed: ${tests[*]}"
