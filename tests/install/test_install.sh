#!/usr/bin/env bash
# Installs the core into a scratch prefix and builds two consumers against it:
# one with pkg-config (static, as FFmpeg's configure links it), one with
# CMake's find_package. Both must write the expected playlist.
# Usage: tests/install/test_install.sh CORE_BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
[ -f "$PKG_CONFIG_PATH/libhlsbridge.pc" ] || PKG_CONFIG_PATH="$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
pkg-config --exists 'libhlsbridge >= 1.4.0'

expected=$'#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\na.ts\n#EXT-X-ENDLIST'

# A plain C compiler and pkg-config --static, like FFmpeg's configure check.
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -o "$tmp/pc-consumer" "$here/consumer/main.c" \
    $(pkg-config --cflags --static --libs libhlsbridge)
export LD_LIBRARY_PATH="$(pkg-config --variable=libdir libhlsbridge)"
"$tmp/pc-consumer" "$tmp/pc/index.m3u8"
[ "$(cat "$tmp/pc/index.m3u8")" = "$expected" ] || { echo "pkg-config consumer wrote the wrong playlist"; exit 1; }

cmake -S "$here/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/consumer" "$tmp/cm/index.m3u8"
[ "$(cat "$tmp/cm/index.m3u8")" = "$expected" ] || { echo "CMake consumer wrote the wrong playlist"; exit 1; }
echo "install test: pkg-config and find_package consumers OK"
