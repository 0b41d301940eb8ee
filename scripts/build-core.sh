#!/usr/bin/env bash
# Builds and installs the playlist core (libhlsbridge) into build/install.
#   scripts/build-core.sh            configure, build, install (Release)
#   scripts/build-core.sh --test     ... and run the unit tests (ctest)
# Environment: BUILD_DIR (default build/core), PREFIX (default build/install),
# CMAKE_ARGS (extra cmake arguments, e.g. -DHLSBRIDGE_BUILD_BENCHMARKS=ON).
# Only the static library is installed here: FFmpeg's configure finds it with
# pkg-config, and a static link keeps the custom ffmpeg free of a runtime
# dependency on build/. (A plain `cmake --install` also installs libhlsbridge.so.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

run_tests=0
for arg in "$@"; do
    case "$arg" in
    --test) run_tests=1 ;;
    *) die "unknown argument: $arg (expected --test)" ;;
    esac
done

ensure_packages build-essential cmake pkg-config googletest libgtest-dev

build_dir="${BUILD_DIR:-$HLSBRIDGE_ROOT/build/core}"
prefix="${PREFIX:-$HLSBRIDGE_ROOT/build/install}"

# shellcheck disable=SC2086 # CMAKE_ARGS holds several words
cmake -S "$HLSBRIDGE_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib -DHLSBRIDGE_BUILD_SHARED=OFF \
    ${CMAKE_ARGS:-} >&2
cmake --build "$build_dir" -j "$(nproc)" >&2
cmake --install "$build_dir" >&2
log "core installed in $prefix (pkg-config: $prefix/lib/pkgconfig)"
if [ "$run_tests" -eq 1 ]; then
    ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
fi
