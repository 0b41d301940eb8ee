#!/usr/bin/env bash
# docker/stage-runtime.sh DESTDIR PROGRAM...
#
# Run in the build stage of docker/Dockerfile. Lays out what the runtime stage
# needs to run PROGRAMs, found from their dynamic dependencies rather than
# from a hand-kept list, so a change in FFmpeg's configure line cannot leave
# the slim image with a missing library:
#   DESTDIR/usr/local/bin/PROGRAM   the programs (symlinks resolved)
#   DESTDIR/usr/local/lib/LIB       shared libraries no Debian package owns
#                                   (e.g. a shared libhlsbridge)
#   DESTDIR/packages                the Debian packages owning all the others,
#                                   one per line, for apt-get install
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../scripts
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

[ $# -ge 2 ] || die "usage: $0 DESTDIR PROGRAM..."
dest=$1
shift
mkdir -p "$dest/usr/local/bin" "$dest/usr/local/lib"

# owner_package FILE: the Debian package that ships FILE, or nothing. With
# merged /usr a library is found at /lib/... or /usr/lib/... but packaged
# under one of the two only.
owner_package() {
    local f=$1 c out
    for c in "$f" "$(readlink -f "$f")" "/usr${f#/usr}" "${f#/usr}"; do
        out=$(dpkg-query -S "$c" 2>/dev/null | head -n1) || continue
        [ -n "$out" ] || continue
        out=${out%%: *}
        printf '%s\n' "${out%%:*}"
        return 0
    done
    return 1
}

declare -A packages=()
for prog in "$@"; do
    [ -x "$prog" ] || die "$prog: not an executable file"
    cp -L "$prog" "$dest/usr/local/bin/"
    lddout=$(ldd "$prog") || die "ldd $prog failed"
    if grep -q 'not found' <<<"$lddout"; then
        die "$prog has unresolved libraries: $(grep 'not found' <<<"$lddout" | tr -s ' \t\n' ' ')"
    fi
    while read -r lib; do
        if pkg=$(owner_package "$lib"); then
            packages[$pkg]=1
        else
            cp -L "$lib" "$dest/usr/local/lib/"
            log "staged $lib (no Debian package owns it)"
        fi
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$lddout" | sort -u)
done
printf '%s\n' "${!packages[@]}" | sort >"$dest/packages"
log "runtime packages: $(tr '\n' ' ' <"$dest/packages")"
