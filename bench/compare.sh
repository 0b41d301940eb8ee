#!/usr/bin/env bash
# Whole-process comparison of the segment, hls and hlsbridge muxers on the
# same custom ffmpeg binary: a -c copy remux of one H.264/AAC input, every
# variant run RUNS times, interleaved (variant A, B, C, A, B, C, ...) so that
# a change of machine load hits all of them alike. Prints the median CPU
# (user+sys), wall time and peak RSS of each variant and its ratio to bare
# segment; then, where valgrind is installed, the instruction count of one
# run of each (callgrind: repeatable where timings are noise); then the
# segment-close to playlist-published latency that hlsbridge reports. A
# "disk floor" row gives the time dd takes to write the input's bytes with
# fdatasync: a run that makes those bytes durable is seldom faster here.
#
#   bash bench/compare.sh                 # 60 s input, 5 runs each
#   DURATION=600 RUNS=7 bash bench/compare.sh
#
# Environment:
#   FFMPEG       the custom ffmpeg (default build/ffmpeg/bin/ffmpeg)
#   DURATION     seconds of input (default 60); made once with lavfi + libx264
#                (1280x720, 30 fps, GOP 2 s, 3 Mb/s; AAC 128 kb/s) and cached
#                in ${XDG_CACHE_HOME:-~/.cache}/hlsbridge/bench/
#   RUNS         runs of each variant (default 5)
#   CALLGRIND_DURATION  seconds of input for the instruction counts
#                (default 20; 0 skips them)
#   LIVE_SECONDS seconds of a real-time (-re) hlsbridge run for the latency
#                of a live stream (default 10; 0 skips it)
#   OUT          scratch directory on the disk to measure (default
#                build/bench-out; it is emptied)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
root=$HLSBRIDGE_ROOT
ffmpeg=${FFMPEG:-$root/build/ffmpeg/bin/ffmpeg}
duration=${DURATION:-60}
runs=${RUNS:-5}
cg_duration=${CALLGRIND_DURATION:-20}
live_seconds=${LIVE_SECONDS:-10}
out=${OUT:-$root/build/bench-out}
[ -x "$ffmpeg" ] || die "$ffmpeg not found: run scripts/build-ffmpeg.sh first"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hlsbridge/bench"
mkdir -p "$cache" "$out"

# make_input SECONDS: path of a cached input of that length.
make_input() {
    local f="$cache/input-$1s.ts"
    if [ ! -s "$f" ]; then
        log "making a $1 s input (once): $f"
        "$ffmpeg" -hide_banner -loglevel error -y \
            -f lavfi -i "testsrc2=size=1280x720:rate=30" \
            -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$1" \
            -c:v libx264 -preset veryfast -g 60 -keyint_min 60 -sc_threshold 0 \
            -b:v 3M -maxrate 3M -bufsize 6M -pix_fmt yuv420p \
            -c:a aac -b:a 128k -f mpegts "$f.part" || die "cannot make $f"
        mv "$f.part" "$f"
    fi
    printf '%s' "$f"
}

# The variants: a name and the output arguments (DIR is the run's directory).
variants=(segment hls hlsbridge-live hlsbridge-event hlsbridge-vod hlsbridge-event-nofsync)
variant_args() {
    local dir=$2
    case "$1" in
    segment) echo "-f segment -segment_time 2 -reset_timestamps 0 -segment_format mpegts $dir/seg%d.ts" ;;
    hls) echo "-f hls -hls_time 2 -hls_list_size 0 -hls_playlist_type event $dir/index.m3u8" ;;
    hlsbridge-live) echo "-f hlsbridge -hls_time 2 -hls_list_size 6 $dir/index.m3u8" ;;
    hlsbridge-event) echo "-f hlsbridge -hls_time 2 -hls_playlist_type event $dir/index.m3u8" ;;
    hlsbridge-vod) echo "-f hlsbridge -hls_time 2 -hls_playlist_type vod $dir/index.m3u8" ;;
    hlsbridge-event-nofsync) echo "-f hlsbridge -hls_time 2 -hls_playlist_type event -segment_fsync 0 $dir/index.m3u8" ;;
    esac
}

# measure OUTFILE CMD...: runs CMD and appends "wall cpu rss_kb" to OUTFILE,
# from wait4()'s resource usage (microseconds, unlike time(1)'s 10 ms).
measure() {
    python3 - "$@" <<'PY'
import os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
proc = subprocess.Popen(cmd)
_, status, ru = os.wait4(proc.pid, 0)
wall = time.monotonic() - t0
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit("%s failed" % " ".join(cmd))
with open(out, "a") as f:
    f.write("%.4f %.4f %d\n" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
PY
}

# run_once VARIANT INPUT: one measured run of VARIANT into $out/VARIANT.times.
run_once() {
    local dir="$out/$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    # Every run starts with no dirty data of an earlier one to write back.
    sync
    # shellcheck disable=SC2046
    measure "$out/$1.times" "$ffmpeg" -hide_banner -nostdin -loglevel error -y \
        -i "$2" -map 0 -c copy $(variant_args "$1" "$dir") || die "$1 failed"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

input=$(make_input "$duration") || exit 1
rm -f "$out"/*.times
log "input: $input ($duration s); $runs runs of each variant, interleaved"
"$ffmpeg" -hide_banner -nostdin -loglevel error -i "$input" -map 0 -c copy -f null - # warm cache
for ((r = 1; r <= runs; r++)); do
    for v in "${variants[@]}"; do run_once "$v" "$input"; done
done

echo
echo "# ffmpeg: $("$ffmpeg" -hide_banner -version | head -n1)"
echo "# input: ${duration} s 720p30 H.264 3 Mb/s + AAC, -c copy; $runs runs each; medians"
printf '%-26s %9s %9s %9s %9s %10s %9s\n' variant cpu_s x_seg wall_s x_seg rss_kb x_seg
declare -A med
for v in "${variants[@]}"; do
    med[$v.wall]=$(cut -d' ' -f1 "$out/$v.times" | median)
    med[$v.cpu]=$(cut -d' ' -f2 "$out/$v.times" | median)
    med[$v.rss]=$(cut -d' ' -f3 "$out/$v.times" | median)
done
for v in "${variants[@]}"; do
    awk -v n="$v" -v c="${med[$v.cpu]}" -v w="${med[$v.wall]}" -v m="${med[$v.rss]}" \
        -v c0="${med[segment.cpu]}" -v w0="${med[segment.wall]}" -v m0="${med[segment.rss]}" \
        'function r(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "-" }
         BEGIN { printf "%-26s %9.4f %9s %9.4f %9s %10d %9s\n", n, c, r(c, c0), w, r(w, w0), m, r(m, m0) }'
done

# What the disk allows: the input's bytes written and fdatasynced by dd, the
# least time any run that makes those bytes durable can take here.
bytes=$(stat -c %s "$input")
for ((r = 1; r <= runs; r++)); do
    sync
    measure "$out/disk-floor.times" dd if=/dev/zero of="$out/floor.bin" bs=1M \
        count=$(((bytes + 1048575) / 1048576)) conv=fdatasync status=none
    rm -f "$out/floor.bin"
done
floor=$(cut -d' ' -f1 "$out/disk-floor.times" | median)
awk -v f="$floor" -v w0="${med[segment.wall]}" -v b="$bytes" \
    'BEGIN { printf "%-26s %9s %9s %9.4f %9.3f   (%d MB fdatasynced: %.0f MB/s)\n", "disk floor (dd)", "-", "-", f, f / w0, b / 1e6, b / 1e6 / f }'

if [ "$cg_duration" != 0 ] && command -v valgrind >/dev/null; then
    cg_input=$(make_input "$cg_duration") || exit 1
    echo
    echo "# instructions (valgrind callgrind, one run each, ${cg_duration} s input)"
    declare -A ir
    for v in segment hls hlsbridge-event; do
        dir="$out/cg-$v"
        rm -rf "$dir"
        mkdir -p "$dir"
        # shellcheck disable=SC2046
        valgrind --tool=callgrind --callgrind-out-file="$out/cg-$v.out" \
            "$ffmpeg" -hide_banner -nostdin -loglevel error -y -i "$cg_input" -map 0 -c copy \
            $(variant_args "$v" "$dir") 2>"$out/cg-$v.log" || die "callgrind of $v failed (log: $out/cg-$v.log)"
        ir[$v]=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/cg-$v.out")
        [ -n "${ir[$v]}" ] || ir[$v]=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out/cg-$v.out")
    done
    for v in segment hls hlsbridge-event; do
        awk -v n="$v" -v i="${ir[$v]}" -v s="${ir[segment]}" -v h="${ir[hls]}" \
            'BEGIN { printf "%-26s %14d instr  x_segment %.4f  x_hls %.4f\n", n, i, i / s, i / h }'
    done
fi

# latency LABEL ARGS...: the latency line of a verbose hlsbridge run.
latency() {
    local label=$1 dir="$out/latency" line
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    line=$("$ffmpeg" -hide_banner -nostdin -loglevel verbose -y "$@" \
        -f hlsbridge -hls_time 2 -hls_playlist_type event "$dir/index.m3u8" 2>&1 |
        grep -o 'segment close to playlist published.*' | tail -n1)
    printf '%-26s %s\n' "$label" "${line:-no latency line}"
}
echo
echo "# segment close -> playlist published (hlsbridge event, fsync on; p50/p99/max)"
latency "remux -c copy" -i "$input" -map 0 -c copy
if [ "$live_seconds" != 0 ]; then
    latency "live -re ${live_seconds} s" -re -t "$live_seconds" -i "$input" -map 0 -c copy
fi
