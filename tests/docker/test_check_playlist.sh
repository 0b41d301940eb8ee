#!/usr/bin/env bash
# test_check_playlist.sh: the playlist checker used by test_docker.sh accepts
# a valid finished playlist and rejects each kind of fault it claims to find,
# so test_docker.sh cannot pass on a broken playlist. Needs no podman.
set -euo pipefail

check=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check-playlist.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/hlsbridge-check-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
for i in 0 1 2; do printf 'segment %d\n' "$i" >"s$i.ts"; done
: >empty.ts

good='#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:2.000,
s0.ts
#EXTINF:1.960,
s1.ts
#EXTINF:2.040,
s2.ts
#EXT-X-ENDLIST'

failures=0
# expect NAME ok|bad TEXT [REASON]: runs the checker on TEXT (plus a final
# LF) with 6 s expected; a rejection must name REASON, so that each case
# fails for its own fault and not for another one.
expect() {
    local name=$1 want=$2 text=$3 reason=${4:-} got
    printf '%s\n' "$text" >p.m3u8
    if "$check" p.m3u8 6 >out.txt 2>&1; then got=ok; else got=bad; fi
    if [ "$got" != "$want" ]; then
        printf 'FAIL %s: checker said %s, expected %s\n' "$name" "$got" "$want" >&2
    elif [ -n "$reason" ] && ! grep -qF -- "$reason" out.txt; then
        printf 'FAIL %s: rejected, but not for "%s"\n' "$name" "$reason" >&2
    else
        printf 'ok   %s\n' "$name"
        return 0
    fi
    sed 's/^/    /' out.txt >&2
    failures=$((failures + 1))
}

# EXTINF 2.000 + 1.960 + 2.040 = 6 s; every bad case keeps that sum unless
# the sum is what it tests.
expect valid ok "$good"
half=${good/1.960/1.501}
expect rounding-at-half-below-is-allowed ok "${half/2.040/2.499}"
expect no-extm3u bad "${good/\#EXTM3U/#EXTM3X}" "first line is not #EXTM3U"
expect no-endlist bad "${good/$'\n'#EXT-X-ENDLIST/}" "no EXT-X-ENDLIST"
expect no-target bad "${good/$'\n'#EXT-X-TARGETDURATION:2/}" "no EXT-X-TARGETDURATION"
expect two-targets bad "${good/\#EXT-X-VERSION:3/#EXT-X-TARGETDURATION:2}" "appears twice"
expect fractional-target bad "${good/TARGETDURATION:2/TARGETDURATION:2.5}" "not an integer"
above=${good/EXTINF:2.000/EXTINF:2.500}
expect extinf-rounds-above-target bad "${above/2.040/1.540}" "rounds to 3"
expect missing-segment bad "${good/s1.ts/s9.ts}" "s9.ts does not exist"
expect empty-segment bad "${good/s1.ts/empty.ts}" "empty.ts is empty"
expect extinf-without-uri bad "${good/$'\n's1.ts/}" "without a URI line"
expect uri-without-extinf bad "${good/$'\n'#EXTINF:2.000,/}" "URI line without an EXTINF"
expect segment-after-endlist bad "$good"$'\n#EXTINF:0.0,\ns0.ts' "after EXT-X-ENDLIST"
expect absolute-uri bad "${good/s1.ts/$dir/s1.ts}" "not a plain relative file name"
expect bad-duration bad "${good/1.960/abc}" "bad EXTINF duration"
expect sum-not-six-seconds bad "${good/2.040/1.040}" "add up to 5.000000 s"
expect crlf bad "${good//$'\n'/$'\r\n'}" "CR characters"

# Whole-file properties the helper above cannot produce.
printf '%s' "$good" >p.m3u8
if "$check" p.m3u8 6 >/dev/null 2>&1; then
    echo "FAIL no-final-newline: accepted" >&2
    failures=$((failures + 1))
else
    echo "ok   no-final-newline"
fi
: >p.m3u8
if "$check" p.m3u8 >/dev/null 2>&1; then
    echo "FAIL empty-playlist: accepted" >&2
    failures=$((failures + 1))
else
    echo "ok   empty-playlist"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_check_playlist: $failures case(s) failed" >&2
    exit 1
fi
echo "test_check_playlist: all cases passed"
