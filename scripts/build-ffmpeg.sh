#!/usr/bin/env bash
# build-ffmpeg.sh [SERIES]
#
# Builds a minimal FFmpeg of SERIES (default 8.1; also 7.1) with the hlsbridge
# muxer and installs it:
#   8.1 (the default series) -> build/ffmpeg/{bin,lib,include}
#   other series             -> build/ffmpeg-<series>/...
# bin/ holds ffmpeg and ffprobe; lib/ and include/ the static FFmpeg libraries
# (with pkg-config files) for applications that open the muxer by name.
#
# Steps: Debian packages (nasm, pkg-config, libx264-dev, ...); the playlist
# core (scripts/build-core.sh, installed in build/install); FFmpeg's source
# (scripts/ffmpeg-source.sh); the muxer's sources (muxer/*.c, *.h) copied
# into libavformat/;
# patches/<series>/ applied; configure; make.
#
# The build tree lives outside the repository, in
#   ${XDG_CACHE_HOME:-~/.cache}/hlsbridge/ffmpeg-<series>-<key>
# where <key> hashes the series, the patches, this script's configure
# arguments, the source choice and the install prefix. A change of the muxer
# source recompiles that one file; a change of the core relinks; an unchanged
# rerun only checks hashes. The Debian version is resolved when a tree is
# first made (FFMPEG_REFRESH=1 starts a new tree with the newest version).
#
# Environment:
#   FFMPEG_SOURCE         FFmpeg tarball or source tree instead of Debian's
#   FFMPEG_REFRESH=1      discard the cached tree of this key and start again
#   SKIP_CORE=1           do not run scripts/build-core.sh (use build/install)
#   CORE_PREFIX           where the core is installed (default build/install)
#   JOBS                  make jobs (default 2)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

default_series=8.1
series=${1:-$default_series}
case "$series" in
    8.1 | 7.1) ;;
    *) die "unsupported FFmpeg series '$series' (supported: 8.1, 7.1)" ;;
esac
[ $# -le 1 ] || die "usage: $0 [SERIES]"

root=$HLSBRIDGE_ROOT
if [ "$series" = "$default_series" ]; then
    out="$root/build/ffmpeg"
else
    out="$root/build/ffmpeg-$series"
fi
core_prefix=${CORE_PREFIX:-$root/build/install}
jobs=${JOBS:-2}
patch_dir="$root/patches/$series"
muxer_dir="$root/muxer"
muxer_files=(hlsbridge.c hlsbridge_ladder.c hlsbridge_origin.c hlsbridge_mux.h)

for f in "${muxer_files[@]}"; do
    [ -f "$muxer_dir/$f" ] || die "$muxer_dir/$f not found"
done
ls "$patch_dir"/*.patch >/dev/null 2>&1 || die "no patches in $patch_dir"

# Encoders of the codecs that HLS carries in fMP4 (HEVC, AV1, Opus) and an
# AV1 decoder for ffprobe's checks, beside x264 (x265's static link needs
# libnuma).
ensure_packages build-essential nasm pkg-config libx264-dev libx265-dev \
    libnuma-dev libsvtav1enc-dev libopus-dev libdav1d-dev xz-utils make patch \
    coreutils util-linux

# ------------------------------------------------------------------ the core
if [ -z "${SKIP_CORE:-}" ]; then
    [ -x "$root/scripts/build-core.sh" ] || die "scripts/build-core.sh is missing: cannot build the playlist core"
    PREFIX="$core_prefix" "$root/scripts/build-core.sh"
fi
core_pc="$core_prefix/lib/pkgconfig/libhlsbridge.pc"
[ -f "$core_pc" ] || die "$core_pc not found: build the core first (scripts/build-core.sh)"
export PKG_CONFIG_PATH="$core_prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# ---------------------------------------------------------- configure flags
filters=(
    # sources used by the demo and the tests
    testsrc testsrc2 sine anullsrc color
    # conversions that ffmpeg inserts, and common timing filters
    format aformat scale aresample null anull setpts asetpts trim atrim
    fps concat split asplit
)
configure_args=(
    --prefix="$out"
    --pkg-config-flags=--static
    --disable-everything --disable-autodetect --disable-doc --disable-ffplay
    --enable-gpl --enable-libx264 --enable-libx265 --enable-libsvtav1
    --enable-libopus --enable-libdav1d --enable-libhlsbridge
    # http/tcp: ffprobe and the tests read playlists back over HTTP, where
    # percent-encoded segment URIs are decoded by the server (FFmpeg's file
    # protocol does not decode them). crypto: AES-128 segments are written
    # (and read back) through it.
    --enable-protocol=file,pipe,http,tcp,crypto
    # flv: the tests splice FLV files into a stream whose codec parameters
    # change, as an RTMP ingest does when the encoder changes resolution.
    --enable-muxer=hlsbridge,segment,mpegts,mp4,hls,null,flv
    --enable-demuxer=hls,mpegts,mov,concat,flv
    --enable-indev=lavfi
    --enable-filter="$(IFS=,; echo "${filters[*]}")"
    --enable-encoder=libx264,libx265,libsvtav1,libopus,aac
    --enable-decoder=wrapped_avframe,pcm_s16le,h264,hevc,libdav1d,opus,aac
    --enable-parser=h264,hevc,av1,opus,aac
    --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,aac_adtstoasc,extract_extradata
    --enable-swscale --enable-swresample
)

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

source_id=debian
if [ -n "${FFMPEG_SOURCE:-}" ]; then
    [ -e "$FFMPEG_SOURCE" ] || die "FFMPEG_SOURCE=$FFMPEG_SOURCE: no such file or directory"
    source_id="$(realpath "$FFMPEG_SOURCE") $(stat -c '%s %Y' "$FFMPEG_SOURCE")"
fi
key=$({
    echo "series=$series"
    echo "source=$source_id"
    printf '%s\n' "${configure_args[@]}"
    cat "$patch_dir"/*.patch
    # a change of these scripts may change the tree they make
    cat "$root/scripts/ffmpeg-source.sh"
} | sha256sum | cut -c1-12)
muxer_hash=$(cd "$muxer_dir" && hash_of "${muxer_files[@]}")
core_hash=$(hash_of "$core_prefix/lib/libhlsbridge.a" "$core_prefix/include/hlsbridge/hlsbridge.h")

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/hlsbridge"
work="$cache_root/ffmpeg-$series-$key"
src="$work/src"
mkdir -p "$cache_root"

# One build per series at a time (tests may call this script concurrently).
exec 9>"$cache_root/ffmpeg-$series.lock"
flock 9

state="$muxer_hash $core_hash $key"
if [ -z "${FFMPEG_REFRESH:-}" ] && [ -x "$out/bin/ffmpeg" ] && [ -x "$out/bin/ffprobe" ] &&
    [ "$(cat "$out/.hlsbridge-build" 2>/dev/null)" = "$state" ]; then
    log "FFmpeg $series up to date in $out ($(cat "$work/version" 2>/dev/null || echo '?'))"
    exit 0
fi

start=$(date +%s)
if [ -n "${FFMPEG_REFRESH:-}" ]; then
    rm -rf "$work"
fi

# ------------------------------------------------------- a configured tree
if [ ! -f "$work/configured" ]; then
    # Other keys of this series are stale trees: free their space.
    for old in "$cache_root/ffmpeg-$series-"*; do
        [ -d "$old" ] && [ "$old" != "$work" ] && rm -rf "$old"
    done
    rm -rf "$work"
    mkdir -p "$work"
    version=$("$root/scripts/ffmpeg-source.sh" "$series" "$src")
    echo "$version" >"$work/version"

    for p in "$patch_dir"/*.patch; do
        log "applying $(basename "$p")"
        patch -d "$src" -p1 --forward --batch --no-backup-if-mismatch -s <"$p" ||
            die "$(basename "$p") does not apply to FFmpeg $version"
    done
    for f in "${muxer_files[@]}"; do cp "$muxer_dir/$f" "$src/libavformat/$f"; done

    log "configuring FFmpeg $version"
    if ! (cd "$src" && ./configure "${configure_args[@]}" >"$work/configure.log" 2>&1); then
        tail -n 30 "$src/ffbuild/config.log" >&2 || true
        die "configure of FFmpeg $version failed (log: $work/configure.log, $src/ffbuild/config.log)"
    fi
    grep -q '^#define CONFIG_HLSBRIDGE_MUXER 1' "$src/config_components.h" ||
        die "configure did not enable the hlsbridge muxer"
    touch "$work/configured"
    echo "$core_hash" >"$work/core"
fi
version=$(cat "$work/version")

# ------------------------------------------------------------ incremental
for f in "${muxer_files[@]}"; do
    if ! cmp -s "$muxer_dir/$f" "$src/libavformat/$f"; then
        log "muxer source changed: libavformat/$f"
        cp "$muxer_dir/$f" "$src/libavformat/$f"
    fi
done
if [ "$(cat "$work/core" 2>/dev/null)" != "$core_hash" ]; then
    # FFmpeg's makefiles do not track an outside static library: relink.
    log "core changed: relinking"
    rm -f "$src/libavformat/hlsbridge.o" "$src"/ffmpeg "$src"/ffmpeg_g \
        "$src"/ffprobe "$src"/ffprobe_g
    echo "$core_hash" >"$work/core"
fi

log "building FFmpeg $version (make -j$jobs)"
if ! make -C "$src" -j"$jobs" >"$work/make.log" 2>&1; then
    grep -E 'error|Error' "$work/make.log" | head -n 40 >&2 || true
    die "make of FFmpeg $version failed (log: $work/make.log)"
fi
grep -E 'hlsbridge\.c.*warning' "$work/make.log" >&2 || true
rm -rf "$out"
make -C "$src" install >"$work/install.log" 2>&1 || die "make install failed (log: $work/install.log)"
echo "$state" >"$out/.hlsbridge-build"
printf 'ffmpeg %s (series %s), tree %s\n' "$version" "$series" "$src" >"$out/VERSION"

"$out/bin/ffmpeg" -hide_banner -h muxer=hlsbridge >/dev/null 2>&1 ||
    die "$out/bin/ffmpeg does not know the hlsbridge muxer"
log "FFmpeg $version with hlsbridge in $out/bin ($(( $(date +%s) - start )) s)"
