#!/usr/bin/env bash
# test_docker.sh: builds docker/Dockerfile with podman, runs the image to
# segment a lavfi source with the hlsbridge muxer, and checks the playlist.
#
# Needs root (it installs podman and makes the base image on first use, see
# scripts/podman-env.sh). Measured on 2 shared cores: first run on a machine
# 3.5-6 minutes (debootstrap 25-55 s, image build 3-5.5 min, most of it FFmpeg
# compiling); after a source change about 1 minute (buildah's cache mount
# keeps FFmpeg's build tree); unchanged sources: seconds (layer cache).
#
# Environment:
#   HLSBRIDGE_DOCKER_TAG   image tag to build and run (default hlsbridge:test)
#   HLSBRIDGE_DOCKER_KEEP=1  keep the output directory and build log
# Exit status 0 when the image builds, runs and writes a valid playlist.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR/../../scripts
. "$root/scripts/lib.sh"

fail() { printf '[hlsbridge] FAIL test_docker: %s\n' "$*" >&2; exit 1; }

tag=${HLSBRIDGE_DOCKER_TAG:-hlsbridge:test}
work=$(mktemp -d "${TMPDIR:-/tmp}/hlsbridge-docker-test.XXXXXX")
out=$work/out
mkdir -p "$out"
cleanup() {
    if [ -n "${HLSBRIDGE_DOCKER_KEEP:-}" ]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

t0=$SECONDS
. "$root/scripts/podman-env.sh"
log "podman environment ready in $((SECONDS - t0)) s ($HLSBRIDGE_PODMAN_DIR)"

# ---------------------------------------------------------------- build
# build_image LOG ARGS...: podman build from the repo root; the step lines
# go to stderr as they come, everything to LOG. On failure: the log's tail.
build_image() {
    local logf=$1 rc
    shift
    # buildah keeps RUN --mount=type=cache directories under $TMPDIR (default
    # /var/tmp): keep them with the rest of the private podman state.
    mkdir -p "$HLSBRIDGE_PODMAN_DIR/buildah-tmp"
    set +e
    (cd "$root" && TMPDIR="$HLSBRIDGE_PODMAN_DIR/buildah-tmp" \
        podman build --network=host -f docker/Dockerfile "$@" .) 2>&1 |
        tee "$logf" |
        grep --line-buffered -E '^\[[0-9]+/[0-9]+\] (STEP|COMMIT)|^(STEP|COMMIT) |^Successfully tagged' >&2
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -ne 0 ]; then
        tail -n 60 "$logf" >&2
        HLSBRIDGE_DOCKER_KEEP=1
        fail "podman build of docker/Dockerfile $* failed (exit $rc); full log: $logf"
    fi
}

t0=$SECONDS
build_started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "podman build -f docker/Dockerfile -t $tag (log: $work/build.log)"
build_image "$work/build.log" -t "$tag"
log "image $tag built in $((SECONDS - t0)) s"

# Old images of earlier runs pile up (about 1 GB per build stage): prune the
# dangling ones older than this build. The build stage of this build is
# dangling too (untagged, no child image); tag it first so that its layers
# stay as the cache of the next run. Its ID is the last one buildah prints
# before the final stage starts.
stage_id=$(awk '
    /^\[[0-9]+\/[0-9]+\] STEP/ { split(substr($1, 2, length($1) - 2), a, "/"); if (a[1] == a[2]) exit }
    /^--> [0-9a-f]+$/ { id = $2 }
    END { print id }' "$work/build.log")
if [ -n "$stage_id" ] && podman tag "$stage_id" "$tag-build" 2>/dev/null; then
    podman image prune -f --filter "until=$build_started" >/dev/null ||
        log "warning: podman image prune failed; old images stay in $HLSBRIDGE_PODMAN_DIR"
else
    log "warning: build stage image not found in the build log; not pruning old images"
fi

# ---------------------------------------------------------------- run
# 25 fps with a keyframe every 50 frames: cuts every 2 s, so 3 segments.
t0=$SECONDS
if ! podman run --rm --network=host -v "$out:/out" "$tag" \
    -nostdin -hide_banner -loglevel warning \
    -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 6 -c:v libx264 -g 50 -pix_fmt yuv420p -c:a aac \
    -f hlsbridge -hls_time 2 /out/index.m3u8 >"$work/run.log" 2>&1; then
    cat "$work/run.log" >&2
    fail "the image's ffmpeg failed to write /out/index.m3u8 with the hlsbridge muxer"
fi
log "container run took $((SECONDS - t0)) s"

# ---------------------------------------------------------------- check
if ! summary=$("$root/tests/docker/check-playlist.sh" "$out/index.m3u8" 6); then
    ls -l "$out" >&2
    fail "the playlist written by the image is not valid (see above)"
fi
log "playlist: $summary"

# FFmpeg's own HLS demuxer, from the image, reads the playlist back.
if ! dur=$(podman run --rm --network=host -v "$out:/out" --entrypoint /usr/local/bin/ffprobe "$tag" \
    -v error -show_entries format=duration -of default=nw=1:nk=1 /out/index.m3u8 2>"$work/ffprobe.log"); then
    cat "$work/ffprobe.log" >&2
    fail "ffprobe in the image cannot read /out/index.m3u8"
fi
awk -v d="$dur" 'BEGIN { exit !(d > 5.9 && d < 6.1) }' ||
    fail "ffprobe reads a duration of '$dur' s from the playlist, expected about 6 s"

log "PASS test_docker: $summary; ffprobe reads $dur s"
