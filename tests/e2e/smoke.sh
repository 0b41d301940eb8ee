#!/usr/bin/env bash
# Smoke test of the custom ffmpeg's hlsbridge muxer.
#   FFMPEG=build/ffmpeg/bin/ffmpeg FFPROBE=build/ffmpeg/bin/ffprobe tests/e2e/smoke.sh
# Exits 0 when every check passes; otherwise prints what failed and exits 1.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
FFMPEG=${FFMPEG:-$root/build/ffmpeg/bin/ffmpeg}
FFPROBE=${FFPROBE:-$root/build/ffmpeg/bin/ffprobe}
[ -x "$FFMPEG" ] || { echo "FAIL: FFMPEG=$FFMPEG is not executable" >&2; exit 1; }
[ -x "$FFPROBE" ] || { echo "FAIL: FFPROBE=$FFPROBE is not executable" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Sum of the EXTINF durations of a playlist.
extinf_sum() { awk -F'[:,]' '/^#EXTINF:/ { s += $2 } END { printf "%.6f", s }' "$1"; }

# 1. Every option is documented by -h.
help=$("$FFMPEG" -hide_banner -h muxer=hlsbridge 2>&1)
for opt in hls_time hls_list_size hls_playlist_type hls_segment_filename hls_base_url \
    hls_flags delete_segments program_date_time discont_start segment_fsync \
    start_number segment_format segment_format_options segment_options hls_segment_type \
    hls_fmp4_init_filename; do
    grep -q -- "$opt" <<<"$help" || fail "-h muxer=hlsbridge does not mention $opt"
done
pass "-h muxer=hlsbridge documents the options"

# 2. H.264 with B-frames + AAC, non-zero start: EXTINF sum equals the media
#    duration that ffprobe reads back through FFmpeg's HLS demuxer.
out="$tmp/vod"
if ! "$FFMPEG" -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine -t 10 -c:v libx264 -g 50 -bf 3 -c:a aac -output_ts_offset 10 \
    -f hlsbridge -hls_time 2 -hls_list_size 0 "$out/index.m3u8"; then
    fail "ffmpeg -f hlsbridge (B-frames, output_ts_offset) exited non-zero"
else
    pl="$out/index.m3u8"
    tail -n1 "$pl" | grep -qx '#EXT-X-ENDLIST' || fail "finished playlist lacks EXT-X-ENDLIST"
    n=$(grep -c '^#EXTINF:' "$pl")
    [ "$n" -eq 5 ] || fail "expected 5 segments of 2 s in 10 s, got $n"
    for uri in $(grep -v '^#' "$pl"); do
        [ -s "$out/$uri" ] || fail "listed segment $uri is missing or empty"
    done
    sum=$(extinf_sum "$pl")
    real=$("$FFPROBE" -v error -select_streams v:0 -show_entries packet=pts_time,duration_time \
        -of csv=p=0 "$pl" | awk -F, 'NR == 1 || $1 < min { min = $1 }
            $1 + $2 > max { max = $1 + $2 } END { printf "%.6f", max - min }')
    awk -v a="$sum" -v b="$real" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.041) }' ||
        fail "EXTINF sum $sum s differs from the media duration $real s by more than a frame"
    first=$(awk -F'[:,]' '/^#EXTINF:/ { print $2; exit }' "$pl")
    awk -v f="$first" 'BEGIN { exit !(f <= 2.0401) }' || fail "first segment inflated: EXTINF $first"
    target=$(awk -F: '/^#EXT-X-TARGETDURATION:/ { print $2 }' "$pl")
    awk -F'[:,]' -v t="$target" '/^#EXTINF:/ { if (int($2 + 0.5) > t) bad = 1 } END { exit bad }' "$pl" ||
        fail "an EXTINF rounds above the target duration $target"
    pass "B-frames + output_ts_offset: EXTINF sum $sum s, media $real s"
fi

# 3. Live window of 3 over 12 s of 2 s segments: media sequence 3 at the end.
out="$tmp/live"
if ! "$FFMPEG" -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine -t 12 -c:v libx264 -g 50 -c:a aac \
    -f hlsbridge -hls_time 2 -hls_list_size 3 -hls_flags program_date_time "$out/index.m3u8"; then
    fail "ffmpeg -f hlsbridge (live window) exited non-zero"
else
    pl="$out/index.m3u8"
    grep -qx '#EXT-X-MEDIA-SEQUENCE:3' "$pl" || fail "expected media sequence 3: $(cat "$pl")"
    [ "$(grep -c '^#EXTINF:' "$pl")" -eq 3 ] || fail "expected 3 segments in the window"
    [ "$(grep -c '^#EXT-X-PROGRAM-DATE-TIME:.*\.[0-9][0-9][0-9]Z$' "$pl")" -eq 3 ] ||
        fail "expected 3 RFC 3339 program date-times"
    "$FFPROBE" -v error -show_entries format=duration -of csv=p=0 "$pl" >/dev/null ||
        fail "ffprobe cannot read the live playlist"
    pass "live window: media sequence 3, 3 segments, PDT"
fi

# 4. A forward timestamp jump of 30 s (B-frames, whose dts crosses the jump
#    later than the pts): EXT-X-DISCONTINUITY on the segment that starts at
#    the jump, and the gap is in no EXTINF (250 frames at 25 fps = 10 s).
out="$tmp/jump"
if ! "$FFMPEG" -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 \
    -frames:v 250 -vf "setpts='PTS+gt(N,124)*30/TB'" -c:v libx264 -bf 3 -g 25 \
    -f hlsbridge -hls_time 2 -hls_list_size 0 "$out/index.m3u8"; then
    fail "ffmpeg -f hlsbridge (timestamp jump) exited non-zero"
else
    pl="$out/index.m3u8"
    sum=$(extinf_sum "$pl")
    awk -v a="$sum" 'BEGIN { exit !(a > 9.999 && a < 10.001) }' ||
        fail "timestamp jump: EXTINF sum $sum s, expected 10 s of media"
    [ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$pl")" -eq 1 ] ||
        fail "timestamp jump: expected one EXT-X-DISCONTINUITY: $(cat "$pl")"
    grep -qx '#EXT-X-TARGETDURATION:2' "$pl" || fail "timestamp jump: target duration changed"
    pass "timestamp jump: one discontinuity, EXTINF sum $sum s"
fi

# 5. A bad option fails at start, names the option, and creates nothing.
out="$tmp/bad"
msg=$("$FFMPEG" -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 -t 1 \
    -c:v libx264 -f hlsbridge -hls_time 0 "$out/index.m3u8" 2>&1) &&
    fail "hls_time 0 was accepted"
grep -q 'hls_time' <<<"$msg" || fail "error for hls_time 0 does not name the option: $msg"
[ ! -e "$out/index.m3u8" ] && [ -z "$(ls "$out" 2>/dev/null)" ] || fail "hls_time 0 left files in $out"
pass "hls_time 0 refused"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all smoke checks passed"
