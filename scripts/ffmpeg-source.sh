#!/usr/bin/env bash
# ffmpeg-source.sh SERIES DESTDIR
#
# Puts pristine FFmpeg source of SERIES (8.1 or 7.1) into DESTDIR and prints
# the upstream version it used (e.g. "8.1.2") on stdout.
#
# Default: Debian's source package of the series (8.1 from sid, 7.1 from
# trixie). A private apt configuration and state directory is used, so the
# machine's own apt setup is never touched; its single deb-src entry points at
# the Debian mirror that the machine's own apt sources already use (read at run
# time). apt verifies the downloaded files against the signed Sources index.
# Only the .orig tarball is unpacked: it is FFmpeg's release tarball; Debian's
# patches are not applied.
#
# FFMPEG_SOURCE=<release tarball or source directory> uses that instead.
#
# Environment:
#   FFMPEG_SOURCE          tarball (.tar.xz/.tar.gz/.tar.bz2) or directory
#   FFMPEG_DEBIAN_VERSION  exact Debian version to fetch (default: newest of SERIES)
#   HLSBRIDGE_DEBIAN_MIRROR  mirror URI to use instead of the one read from apt
#   HLSBRIDGE_APT_MAX_AGE  seconds before the private index is refreshed (86400)
#   XDG_CACHE_HOME         cache root (default ~/.cache); files go to hlsbridge/
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 SERIES DESTDIR   (SERIES: 8.1 or 7.1)"; }
[ $# -eq 2 ] || usage
series=$1
dest=$2
case "$series" in
    8.1) suite=sid ;;
    7.1) suite=trixie ;;
    *) die "unsupported FFmpeg series '$series' (supported: 8.1, 7.1)" ;;
esac
[ -n "$dest" ] || usage

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/hlsbridge"
stamp_name=.hlsbridge-ffmpeg-source

# prepare_dest: DESTDIR must be absent, empty, or an earlier result of this
# script (recognised by its stamp file); anything else is left alone.
prepare_dest() {
    if [ -e "$dest" ]; then
        if [ -f "$dest/$stamp_name" ]; then
            rm -rf -- "$dest"
        elif [ -d "$dest" ] && [ -z "$(ls -A -- "$dest")" ]; then
            rmdir -- "$dest"
        else
            die "$dest exists and is not a tree made by $(basename "$0"); remove it first"
        fi
    fi
    mkdir -p -- "$(dirname -- "$dest")"
}

# upstream_version DIR: FFmpeg's version as its release tree records it.
upstream_version() {
    local v=""
    [ -f "$1/RELEASE" ] && v=$(head -n1 "$1/RELEASE")
    [ -z "$v" ] && [ -f "$1/VERSION" ] && v=$(head -n1 "$1/VERSION")
    printf '%s' "$v"
}

check_series() {
    local v=$1
    case "$v" in
        "$series" | "$series".* | "$series"-* | "$series"~*) ;;
        *) log "warning: source version '$v' is not of series $series" ;;
    esac
}

# unpack_tarball TARBALL: extracts into $dest, dropping the top directory.
unpack_tarball() {
    local tarball=$1 tmp
    prepare_dest
    tmp=$(mktemp -d "$(dirname -- "$dest")/.ffmpeg-src.XXXXXX")
    if ! tar -xf "$tarball" -C "$tmp"; then
        rm -rf -- "$tmp"
        die "cannot unpack $tarball"
    fi
    local top
    top=$(find "$tmp" -mindepth 1 -maxdepth 1)
    if [ "$(printf '%s\n' "$top" | wc -l)" -ne 1 ] || [ ! -f "$top/configure" ]; then
        rm -rf -- "$tmp"
        die "$tarball does not look like an FFmpeg source tarball (no single top directory with configure)"
    fi
    mv -- "$top" "$dest"
    rmdir -- "$tmp"
}

# ---------------------------------------------------------------- user source
if [ -n "${FFMPEG_SOURCE:-}" ]; then
    src=$FFMPEG_SOURCE
    if [ -d "$src" ]; then
        [ -f "$src/configure" ] && [ -d "$src/libavformat" ] ||
            die "FFMPEG_SOURCE=$src is not an FFmpeg source tree (no configure or libavformat/)"
        prepare_dest
        mkdir -p -- "$dest"
        # A copy, so patches never touch the user's tree; skip VCS metadata
        # and build products of an earlier in-tree build.
        tar -C "$src" --exclude=.git --exclude='*.o' --exclude='*.a' --exclude='*.d' \
            -cf - . | tar -C "$dest" -xf -
    elif [ -f "$src" ]; then
        unpack_tarball "$src"
    else
        die "FFMPEG_SOURCE=$src: no such file or directory"
    fi
    version=$(upstream_version "$dest")
    check_series "$version"
    printf 'origin=FFMPEG_SOURCE %s\nversion=%s\n' "$src" "$version" >"$dest/$stamp_name"
    log "FFmpeg $version from $src -> $dest"
    printf '%s\n' "$version"
    exit 0
fi

# ------------------------------------------------------------- Debian source
command -v apt-get >/dev/null || die "apt-get not found: set FFMPEG_SOURCE to an FFmpeg release tarball or source tree"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring not found (package debian-archive-keyring)"

# The first Debian archive among the machine's apt sources, recognised by a
# release suite name (not a -security/-updates/-backports pocket), so that
# security and third-party repositories are skipped.
release_re='^(buster|bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable)$'
mirror=$(debian_mirror "$release_re" | cut -f1)
[ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources; set HLSBRIDGE_DEBIAN_MIRROR=<mirror URI> or FFMPEG_SOURCE=<tarball>"

aptdir="$cache_root/apt-$suite"
mkdir -p "$aptdir/etc/sources.list.d" "$aptdir/etc/preferences.d" \
    "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/src"
sources_entry="deb-src [signed-by=$keyring] $mirror $suite main"
if [ "$(cat "$aptdir/etc/sources.list" 2>/dev/null)" != "$sources_entry" ]; then
    printf '%s\n' "$sources_entry" >"$aptdir/etc/sources.list"
    rm -f "$aptdir/state/updated"
fi

apt_opts=(
    -o "Dir::Etc::SourceList=$aptdir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$aptdir/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$aptdir/etc/preferences.d"
    -o "Dir::State=$aptdir/state"
    -o "Dir::State::Status=/dev/null"
    -o "Dir::Cache=$aptdir/cache"
    -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=true"
)
# apt downloads as the unprivileged _apt user when run as root; that user
# cannot enter a private cache under /root, and apt would then fall back to
# root with a notice on every file. Say so once instead.
if [ "$(id -u)" -eq 0 ] && ! su -s /bin/sh _apt -c "test -w '$aptdir/state/lists/partial'" 2>/dev/null; then
    apt_opts+=(-o "APT::Sandbox::User=root")
fi

max_age=${HLSBRIDGE_APT_MAX_AGE:-86400}
now=$(date +%s)
last=$(cat "$aptdir/state/updated" 2>/dev/null || echo 0)
if [ $((now - last)) -ge "$max_age" ]; then
    log "refreshing Debian $suite source index from $mirror"
    if ! apt-get -q "${apt_opts[@]}" update >"$aptdir/update.log" 2>&1 ||
        grep -qE '^(W|E): ' "$aptdir/update.log"; then
        cat "$aptdir/update.log" >&2
        if grep -q -E 'NO_PUBKEY|EXPKEYSIG|not signed|is not signed|BADSIG' "$aptdir/update.log"; then
            die "signature check of Debian $suite failed with $keyring (debian-archive-keyring $(dpkg-query -W -f='${Version}' debian-archive-keyring 2>/dev/null)); a newer debian-archive-keyring package is needed"
        fi
        die "apt-get update of the private Debian $suite source index failed (see above)"
    fi
    echo "$now" >"$aptdir/state/updated"
fi

# Versions of ffmpeg in the index, newest first, restricted to the series.
mapfile -t versions < <(apt-cache "${apt_opts[@]}" showsrc ffmpeg 2>/dev/null |
    awk '/^Package: /{p=$2} /^Version: /{ if (p == "ffmpeg") print $2 }' | sort -u)
best=""
for v in "${versions[@]}"; do
    up=${v#*:}
    case "$up" in
        "$series" | "$series".* | "$series"-* | "$series"+* | "$series"~*) ;;
        *) continue ;;
    esac
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
done
if [ -n "${FFMPEG_DEBIAN_VERSION:-}" ]; then
    best=$FFMPEG_DEBIAN_VERSION
fi
[ -n "$best" ] || die "Debian $suite offers no ffmpeg of series $series (it offers: ${versions[*]:-none}); set FFMPEG_SOURCE=<tarball>"

log "Debian $suite offers ffmpeg ${versions[*]}; using $best"
# apt-get source checks every file against the hashes in the signed index,
# and skips files already present with the right hash (the cache).
(cd "$aptdir/src" && apt-get -q "${apt_opts[@]}" source --download-only "ffmpeg=$best" >&2) ||
    die "apt-get source ffmpeg=$best failed"

# The .dsc names the orig tarball; the upstream version is the Debian
# version without epoch and Debian revision.
upver=${best#*:}
upver=${upver%-*}
orig=$(ls "$aptdir/src/ffmpeg_${upver}.orig.tar."* 2>/dev/null | grep -v '\.asc$' | head -n1 || true)
[ -n "$orig" ] || die "no ffmpeg_${upver}.orig.tar.* in $aptdir/src after apt-get source"

unpack_tarball "$orig"
version=$(upstream_version "$dest")
[ -n "$version" ] || version=$upver
check_series "$version"
printf 'origin=debian %s %s ffmpeg=%s\nversion=%s\n' "$suite" "$mirror" "$best" "$version" \
    >"$dest/$stamp_name"
log "FFmpeg $version (Debian $suite ffmpeg $best, $(basename "$orig")) -> $dest"
printf '%s\n' "$version"
