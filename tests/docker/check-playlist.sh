#!/usr/bin/env bash
# check-playlist.sh PLAYLIST [EXPECTED_SECONDS]
#
# Checks a finished HLS media playlist and the segment files it lists:
# - first line #EXTM3U; LF line ends, no CR; ends with a line feed;
# - exactly one #EXT-X-TARGETDURATION, an integer, and every EXTINF rounded
#   to the nearest integer is <= it (RFC 8216 4.3.3.1);
# - at least one segment; every #EXTINF is followed by its URI line;
# - #EXT-X-ENDLIST after the last segment, nothing listed after it;
# - every listed segment exists next to the playlist and is not empty;
# - with EXPECTED_SECONDS, the EXTINFs add up to it within 40 ms (one frame
#   at 25 fps), and there is more than one segment.
# Prints "N segments, EXTINF sum S s, target duration T" and exits 0 when
# valid; otherwise prints the reason (and the playlist) on stderr, exits 1.
set -euo pipefail

fail() {
    printf '[hlsbridge] invalid playlist %s: %s\n' "$playlist" "$*" >&2
    if [ -f "$playlist" ]; then
        sed 's/^/    | /' "$playlist" | head -n 60 >&2
    fi
    exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PLAYLIST [EXPECTED_SECONDS]" >&2
    exit 2
fi
playlist=$1
expected=${2:-}
dir=$(dirname "$playlist")

[ -f "$playlist" ] || fail "no such file"
[ -s "$playlist" ] || fail "the file is empty"
if LC_ALL=C grep -q $'\r' "$playlist"; then fail "it contains CR characters"; fi
[ -z "$(tail -c1 "$playlist")" ] || fail "the last line does not end with a line feed"

# One pass: structure and durations. The first output line is the verdict
# ("ok N TOTAL TARGET" or "error REASON"); the segment URIs follow.
report=$(LC_ALL=C awk '
    function fail(msg) { print "error " msg; bad = 1; exit }
    NR == 1 && $0 != "#EXTM3U" { fail("the first line is not #EXTM3U") }
    /^#EXT-X-TARGETDURATION:/ {
        if (target != "") fail("EXT-X-TARGETDURATION appears twice")
        target = substr($0, 23)
        if (target !~ /^[0-9]+$/) fail("EXT-X-TARGETDURATION is not an integer: " $0)
        next
    }
    /^#EXTINF:/ {
        if (pending) fail("line " NR ": EXTINF follows an EXTINF without a URI line")
        if (endlist) fail("line " NR ": EXTINF after EXT-X-ENDLIST")
        d = substr($0, 9); sub(/,.*/, "", d)
        if (d !~ /^[0-9]+(\.[0-9]+)?$/) fail("line " NR ": bad EXTINF duration: " $0)
        if (d + 0 > maxd) { maxd = d + 0; maxline = NR }
        total += d; pending = 1; next
    }
    /^#EXT-X-ENDLIST$/ {
        if (pending) fail("line " NR ": EXT-X-ENDLIST right after an EXTINF")
        endlist = NR; next
    }
    /^#/ { next }
    /^$/ { next }
    {
        if (!pending) fail("line " NR ": URI line without an EXTINF: " $0)
        uris[++n] = $0; pending = 0
    }
    END {
        if (bad) exit
        if (target == "") { print "error no EXT-X-TARGETDURATION"; exit }
        if (n == 0) { print "error no segments (no EXTINF lines)"; exit }
        if (pending) { print "error the last EXTINF has no URI line"; exit }
        if (!endlist) { print "error no EXT-X-ENDLIST after the last segment"; exit }
        r = int(maxd + 0.5)
        if (r > target + 0) {
            printf "error line %d: EXTINF %.6f rounds to %d, above EXT-X-TARGETDURATION %d\n", maxline, maxd, r, target
            exit
        }
        printf "ok %d %.6f %d\n", n, total, target
        for (i = 1; i <= n; i++) print uris[i]
    }' "$playlist")

verdict=$(head -n1 <<<"$report")
case "$verdict" in
    ok\ *) ;;
    error\ *) fail "${verdict#error }" ;;
    *) fail "the check produced no verdict" ;;
esac
read -r _ nseg total target <<<"$verdict"

while IFS= read -r uri; do
    case "$uri" in
        *://* | /* | *%* | *..*) fail "segment URI '$uri' is not a plain relative file name" ;;
    esac
    [ -e "$dir/$uri" ] || fail "listed segment $uri does not exist"
    [ -s "$dir/$uri" ] || fail "listed segment $uri is empty"
done < <(tail -n +2 <<<"$report")

if [ -n "$expected" ]; then
    awk -v t="$total" -v e="$expected" 'BEGIN { d = t - e; exit !(d > -0.04 && d < 0.04) }' ||
        fail "the EXTINF durations add up to $total s, expected $expected s"
    [ "$nseg" -ge 2 ] || fail "only $nseg segment for $expected s of media; expected several"
fi

printf '%s segments, EXTINF sum %s s, target duration %s\n' "$nseg" "$total" "$target"
