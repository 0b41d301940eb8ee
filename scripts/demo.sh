#!/usr/bin/env bash
# The live demo: builds the playlist core and the custom ffmpeg, streams a
# built-in test source (testsrc2 with its running clock, a 440 Hz tone;
# H.264 + AAC in 2 s segments, a 6-segment live window) through the
# hlsbridge muxer into OUT_DIR, serves it on 127.0.0.1 with a page that plays
# it with hls.js, and prints the page's URL.
#
# Ctrl-C (SIGINT), SIGTERM or SIGHUP stops it cleanly: ffmpeg gets SIGINT and writes
# its trailer, so the playlist ends with EXT-X-ENDLIST; then the server stops
# and the script exits 0.
#
# Environment:
#   PORT=8080        port of the page (0: any free port; the URL says which)
#   OUT_DIR=out      output directory (default: out/ in the repository);
#                    its *.m3u8 and *.ts files are removed at start
#   DURATION=        stop by itself after this many seconds, as on Ctrl-C
#   FFMPEG=          ffmpeg to run; when set, nothing is built
#   FFMPEG_LOGLEVEL=warning
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

root="$HLSBRIDGE_ROOT"
port="${PORT:-8080}"
out_dir="${OUT_DIR:-$root/out}"
duration="${DURATION:-}"
loglevel="${FFMPEG_LOGLEVEL:-warning}"

if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -gt 65535 ]; then
    die "PORT must be 0..65535, got '$port'"
fi
if [ -n "$duration" ] && { ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -eq 0 ]; }; then
    die "DURATION must be a whole number of seconds > 0, got '$duration'"
fi

if [ -z "${FFMPEG:-}" ]; then
    for s in build-core.sh build-ffmpeg.sh; do
        [ -x "$root/scripts/$s" ] || die "scripts/$s is missing: cannot build the custom ffmpeg"
    done
    log "building the playlist core"
    "$root/scripts/build-core.sh"
    log "building the custom ffmpeg"
    # The core was just built: build-ffmpeg.sh need not rebuild it.
    SKIP_CORE=1 "$root/scripts/build-ffmpeg.sh"
    FFMPEG="$root/build/ffmpeg/bin/ffmpeg"
fi
[ -x "$FFMPEG" ] || die "no ffmpeg at $FFMPEG"
has_hlsbridge_muxer "$FFMPEG" ||
    die "$FFMPEG has no hlsbridge muxer (build it with scripts/build-ffmpeg.sh)"

"$root/web/install-deps.sh"

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
playlist="$out_dir/index.m3u8"
# A previous run's playlist and segments would mix with this run's.
find "$out_dir" -maxdepth 1 -type f \( -name '*.m3u8' -o -name '*.ts' \) -delete

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/hlsbridge-demo.XXXXXX")"
ffmpeg_pid=
server_pid=
stop_requested=

stop_children() {
    if [ -n "$ffmpeg_pid" ] && kill -0 "$ffmpeg_pid" 2>/dev/null; then
        kill -INT "$ffmpeg_pid" 2>/dev/null || true
        # ffmpeg finishes the current segment's trailer and the playlist.
        local _
        for _ in $(seq 1 100); do
            kill -0 "$ffmpeg_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$ffmpeg_pid" 2>/dev/null; then
            log "ffmpeg did not stop within 10 s of SIGINT: killing it"
            kill -KILL "$ffmpeg_pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
    fi
}

# shellcheck disable=SC2317  # called through the EXIT trap
on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_children
    wait 2>/dev/null || true
    rm -rf "$run_dir"
    exit "$rc"
}
trap on_exit EXIT
trap 'stop_requested=1' INT TERM HUP

log "streaming into $playlist with $FFMPEG"
# ffmpeg and the server run in sessions of their own, so a Ctrl-C in the
# terminal reaches only this script, which then stops them in order with one
# signal each. A second SIGINT would make ffmpeg abort the writing of its
# trailer ("Immediate exit requested") and cut the last segment short.
# (A background job of a script is no process group leader, so setsid execs
# the command in place and $! is its pid.)
# -nostdin: ffmpeg runs in the background and must not read the terminal.
setsid "$FFMPEG" -hide_banner -nostdin -loglevel "$loglevel" -re \
    -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 \
    -c:a aac -b:a 128k \
    -f hlsbridge -hls_time 2 -hls_list_size 6 \
    "$playlist" &
ffmpeg_pid=$!

setsid node "$root/web/server.js" --media "$out_dir" --port "$port" >"$run_dir/server.out" &
server_pid=$!

# Sleeps in small steps that a signal interrupts at once (the trap runs when
# `wait` returns), and fails if a child died on its own.
pause() {
    sleep "$1" &
    wait $! 2>/dev/null || true
}
# A Ctrl-C in a terminal reaches ffmpeg and the server as well as this
# script, so a child may be gone just before the trap has run: a child that
# ended after a stop request is no failure.
check_children() {
    local gone=
    kill -0 "$ffmpeg_pid" 2>/dev/null || gone=ffmpeg
    kill -0 "$server_pid" 2>/dev/null || gone="${gone:-the web server}"
    [ -n "$gone" ] || return 0
    pause 0.2
    [ -n "$stop_requested" ] && return 1
    die "$gone stopped unexpectedly"
}

url=
for _ in $(seq 1 100); do
    url="$(sed -n 's/^listening \(http:.*\)$/\1/p' "$run_dir/server.out")"
    [ -n "$url" ] && break
    [ -z "$stop_requested" ] || break
    check_children || break
    pause 0.1
done
[ -n "$url" ] || [ -n "$stop_requested" ] || die "the web server did not start (port $port in use?)"

# The page needs a playlist to start from: wait for the first segment.
for _ in $(seq 1 300); do
    [ -s "$playlist" ] && break
    [ -z "$stop_requested" ] || break
    check_children || break
    pause 0.1
done
[ -s "$playlist" ] || [ -n "$stop_requested" ] || die "no playlist after 30 s"

if [ -z "$stop_requested" ]; then
    printf '\nhlsbridge demo: open %s?src=/media/index.m3u8\n' "$url"
    printf 'playlist: %s   (Ctrl-C stops)\n\n' "$playlist"
fi

start=$SECONDS
while [ -z "$stop_requested" ]; do
    check_children || break
    if [ -n "$duration" ] && [ $((SECONDS - start)) -ge "$duration" ]; then
        break
    fi
    pause 0.5
done

log "stopping"
stop_children
ffmpeg_status=0
wait "$ffmpeg_pid" || ffmpeg_status=$?
ffmpeg_pid=
wait "$server_pid" 2>/dev/null || true
server_pid=
# ffmpeg exits 255 when a signal ended it; it has still written its trailer.
case "$ffmpeg_status" in
0 | 255) ;;
*) die "ffmpeg exited with status $ffmpeg_status" ;;
esac
grep -qx '#EXT-X-ENDLIST' "$playlist" || die "$playlist has no EXT-X-ENDLIST after the stop"
log "stopped cleanly: $playlist ends with EXT-X-ENDLIST"
exit 0
