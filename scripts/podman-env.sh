#!/usr/bin/env bash
# podman-env.sh: a private, self-contained podman setup for building and
# running docker/Dockerfile on a machine without a Docker engine or registry.
#
#   . scripts/podman-env.sh          # from bash: sets up, exports the env
#   eval "$(scripts/podman-env.sh)"  # from any shell: prints export lines
#
# What it does (idempotent; the second run on a machine takes a second):
# 1. installs podman, runc, debootstrap, fuse-overlayfs and uidmap from Debian;
# 2. writes its own containers.conf and storage.conf under the state directory
#    and points CONTAINERS_CONF / CONTAINERS_STORAGE_CONF at them (images,
#    layers and runtime state all live there). Nothing under /etc is written;
#    /etc/containers still supplies the (read-only) trust policy and registry
#    list. podman 4.3 as root also keeps a small blob-info cache in
#    /var/lib/containers/cache, a location it does not let us move;
# 3. makes the base image docker.io/library/debian:bookworm in that private
#    storage unless it is there already: debootstrap (minbase) from the Debian
#    mirror the machine's own apt sources use, with those sources (and the
#    keyrings they name) copied in, and the host's apt settings on how to
#    reach the archive (proxy, Release date checks against a frozen snapshot
#    mirror), so apt inside a build reaches the same archive the host does.
#    Made again only when those inputs change (a label on the image records
#    them). On a machine with a registry the same Dockerfile pulls the real
#    image instead; this step only stands in for the pull.
#
# The settings are the ones measured to work on these machines (no Docker
# engine; podman 4.3 with buildah 1.28): runc rather than crun (crun fails on this kernel's
# hybrid cgroup layout), cgroupfs, host network namespace (RUN steps reach the
# apt mirror without iptables changes), file events log, overlay storage.
#
# Environment:
#   HLSBRIDGE_PODMAN_DIR   state directory
#                          (default ${XDG_CACHE_HOME:-$HOME/.cache}/hlsbridge/podman)
#   HLSBRIDGE_DEBIAN_MIRROR  Debian mirror URI for debootstrap instead of the
#                          one read from the apt sources
#   HLSBRIDGE_PODMAN_NO_BASE=1  skip step 3
# Root is required: debootstrap and rootful podman.
# shellcheck shell=bash source-path=SCRIPTDIR

_hb_podman_main() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    # shellcheck source=lib.sh
    . "$here/lib.sh"

    [ "$(id -u)" -eq 0 ] ||
        die "podman-env.sh needs root (debootstrap and a private rootful podman storage)"

    ensure_packages podman runc debootstrap fuse-overlayfs uidmap

    local state=${HLSBRIDGE_PODMAN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hlsbridge/podman}
    mkdir -p "$state" || die "cannot create $state"
    state=$(cd "$state" && pwd)

    # Runtime state (runroot, tmp_dir) is only valid for the boot that made
    # it; /run is not always a tmpfs, so a reboot is detected by boot id.
    local boot_id=""
    [ -r /proc/sys/kernel/random/boot_id ] && boot_id=$(cat /proc/sys/kernel/random/boot_id)
    if [ "$(cat "$state/boot_id" 2>/dev/null)" != "$boot_id" ]; then
        rm -rf "$state/run" "$state/tmp"
        printf '%s\n' "$boot_id" >"$state/boot_id"
    fi
    mkdir -p "$state/storage" "$state/run" "$state/tmp" "$state/net"

    _hb_write_storage_conf "$state"
    _hb_write_containers_conf "$state"

    export CONTAINERS_CONF="$state/containers.conf"
    export CONTAINERS_STORAGE_CONF="$state/storage.conf"
    export HLSBRIDGE_PODMAN_DIR="$state"

    if [ -z "${HLSBRIDGE_PODMAN_NO_BASE:-}" ]; then
        _hb_base_image "$state"
    fi
}

# _hb_write_if_changed FILE: stdin to FILE, leaving it untouched when equal.
_hb_write_if_changed() {
    local new
    new=$(cat)
    [ "$(cat "$1" 2>/dev/null)" = "$new" ] && return 0
    printf '%s\n' "$new" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# _hb_native_overlay_ok DIR: can the kernel mount an overlay whose upper
# layer lives in DIR? Fails e.g. when DIR is itself on overlayfs (a CI job
# inside a container); fuse-overlayfs is used then.
_hb_native_overlay_ok() {
    local t ok=1
    t=$(mktemp -d "$1/.overlay-probe.XXXXXX") || return 1
    mkdir "$t/l" "$t/u" "$t/w" "$t/m"
    if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
        umount "$t/m" && ok=0
    fi
    rm -rf "$t"
    return $ok
}

_hb_write_storage_conf() {
    local state=$1 mount_program=""
    if ! _hb_native_overlay_ok "$state/storage"; then
        mount_program="/usr/bin/fuse-overlayfs"
        log "native overlay not usable under $state/storage; using fuse-overlayfs"
    fi
    {
        printf '# Written by scripts/podman-env.sh; private to hlsbridge tests.\n'
        printf '[storage]\n'
        printf 'driver = "overlay"\n'
        printf 'graphroot = "%s"\n' "$state/storage"
        printf 'runroot = "%s"\n' "$state/run"
        if [ -n "$mount_program" ]; then
            printf '\n[storage.options.overlay]\n'
            printf 'mount_program = "%s"\n' "$mount_program"
        fi
    } | _hb_write_if_changed "$state/storage.conf"
}

_hb_write_containers_conf() {
    local state=$1
    {
        printf '# Written by scripts/podman-env.sh; private to hlsbridge tests.\n'
        printf '[containers]\n'
        printf 'netns = "host"\n'
        printf 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        printf 'log_driver = "k8s-file"\n'
        printf '\n[engine]\n'
        printf 'runtime = "runc"\n'
        printf 'cgroup_manager = "cgroupfs"\n'
        printf 'events_logger = "file"\n'
        printf 'tmp_dir = "%s"\n' "$state/tmp"
        printf 'static_dir = "%s"\n' "$state/storage/libpod"
        printf 'volume_path = "%s"\n' "$state/storage/volumes"
        printf '\n[network]\n'
        printf 'network_config_dir = "%s"\n' "$state/net"
    } | _hb_write_if_changed "$state/containers.conf"
}

# _hb_debian_entries CODENAME FILE...: the enabled binary ("deb") entries
# (apt_source_entries) whose suite is CODENAME or CODENAME-*.
_hb_debian_entries() {
    local codename=$1
    shift
    apt_source_entries "$@" | awk -F'\t' -v cn="$codename" \
        '$1 == "deb" && ($3 == cn || index($3, cn "-") == 1)'
}

# _hb_signed_by_files FILE...: keyring files named by Signed-By/signed-by.
_hb_signed_by_files() {
    local f
    for f in "$@"; do
        sed -n -E 's/^[[:space:]]*[Ss]igned-[Bb]y:[[:space:]]*(\/[^[:space:]]+).*/\1/p;
                   s/.*\[[^]]*signed-by=(\/[^] ]+).*/\1/p' "$f"
    done | sort -u
}

# _hb_base_image STATE: makes docker.io/library/debian:bookworm in the
# private storage once per machine (again only when its apt inputs change).
_hb_base_image() {
    local state=$1 image=docker.io/library/debian:bookworm codename=bookworm
    local -a sources
    mapfile -t sources < <(apt_source_files)
    [ ${#sources[@]} -gt 0 ] || die "no apt sources found in /etc/apt"

    # Copy only the source files that carry the Debian release we bootstrap;
    # third-party repositories (own keys, https without ca-certificates in a
    # minimal system) would only break apt inside the image.
    local -a copy=()
    local f
    for f in "${sources[@]}"; do
        [ -n "$(_hb_debian_entries "$codename" "$f")" ] && copy+=("$f")
    done
    [ ${#copy[@]} -gt 0 ] ||
        die "no apt source for Debian $codename in ${sources[*]}; set HLSBRIDGE_DEBIAN_MIRROR"

    # The release itself (suite == codename), not a -security/-updates pocket.
    local line mirror keyring
    line=$(debian_mirror "^$codename\$" "${copy[@]}")
    [ -n "$line" ] || die "no apt source for the Debian $codename suite itself; set HLSBRIDGE_DEBIAN_MIRROR"
    mirror=$(printf '%s' "$line" | cut -f1)
    keyring=$(printf '%s' "$line" | cut -f2)

    local -a keyrings
    mapfile -t keyrings < <(_hb_signed_by_files "${copy[@]}")
    # The way the host reaches the archive, the image must use too: a proxy,
    # and relaxed Release date checks where the mirror is a frozen snapshot
    # (seen here: without them apt in the image rejects sid's expired Release).
    local aptconf
    aptconf=$(apt-config dump 2>/dev/null |
        grep -E '^Acquire::(Check-Valid-Until|Check-Date|Max-FutureTime|Retries|(http|https|ftp)::Proxy(::[^ ]+)?) ' || true)
    local key
    key=$({
        printf 'mirror=%s\n%s\n' "$mirror" "$aptconf"
        for f in "${copy[@]}" "${keyrings[@]}"; do
            [ -f "$f" ] && printf '%s ' "$f" && sha256sum <"$f"
        done
    } | sha256sum | cut -c1-16)

    exec 9>"$state/base-image.lock"
    flock 9
    local have
    have=$(podman image inspect --format '{{index .Labels "org.hlsbridge.base-key"}}' "$image" 2>/dev/null || true)
    if [ "$have" = "$key" ]; then
        exec 9>&-
        return 0
    fi
    [ -n "$have" ] && log "apt sources or settings changed since $image was made; making it again"

    local work="$state/base-work"
    _hb_umount_under "$work"
    rm -rf "$work"
    mkdir -p "$work"
    local rootfs="$work/rootfs"
    local -a dbs_opts=(--variant=minbase)
    [ -n "$keyring" ] && [ -f "$keyring" ] && dbs_opts+=("--keyring=$keyring")
    case "$mirror" in https://*) dbs_opts+=(--include=ca-certificates) ;; esac

    log "debootstrap $codename (minbase) from $mirror -> $image"
    local t0=$SECONDS
    if ! debootstrap "${dbs_opts[@]}" "$codename" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        _hb_umount_under "$work"
        die "debootstrap $codename from $mirror failed (log: $work/debootstrap.log)"
    fi
    log "debootstrap took $((SECONDS - t0)) s"
    _hb_umount_under "$work"

    # The machine's sources replace debootstrap's single entry, so the image
    # sees the same suites (updates, security) the host does.
    rm -f "$rootfs/etc/apt/sources.list"
    for f in "${copy[@]}"; do
        case "$f" in
            /etc/apt/sources.list) cp "$f" "$rootfs/etc/apt/sources.list" ;;
            *) cp "$f" "$rootfs/etc/apt/sources.list.d/" ;;
        esac
    done
    for f in "${keyrings[@]}"; do
        [ -f "$f" ] || continue
        mkdir -p "$rootfs$(dirname "$f")"
        cp "$f" "$rootfs$f"
    done
    if [ -n "$aptconf" ]; then
        printf '// From the apt settings of the machine that made this image.\n%s\n' \
            "$aptconf" >"$rootfs/etc/apt/apt.conf.d/01hlsbridge-host"
    fi
    # Like the published image: no package lists or downloaded packages;
    # the container runtime provides resolv.conf and hostname.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/log/* "$rootfs/debootstrap"
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"

    tar -C "$rootfs" --numeric-owner --xattrs -cf "$work/rootfs.tar" . ||
        die "cannot tar $rootfs"
    t0=$SECONDS
    podman rmi -f "$image" >/dev/null 2>&1 || true
    podman import --quiet \
        --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL org.hlsbridge.base-key=$key" \
        --message "debootstrap --variant=minbase $codename (hlsbridge podman-env.sh)" \
        "$work/rootfs.tar" "$image" >/dev/null ||
        die "podman import of $rootfs failed"
    log "podman import took $((SECONDS - t0)) s"
    rm -rf "$work"
    exec 9>&-
}

# _hb_print_exports: the environment that points podman at our setup, as
# shell export lines.
_hb_print_exports() {
    printf 'export CONTAINERS_CONF=%q\n' "$CONTAINERS_CONF"
    printf 'export CONTAINERS_STORAGE_CONF=%q\n' "$CONTAINERS_STORAGE_CONF"
    printf 'export HLSBRIDGE_PODMAN_DIR=%q\n' "$HLSBRIDGE_PODMAN_DIR"
}

# _hb_umount_under DIR: unmounts what debootstrap may have left mounted.
_hb_umount_under() {
    local m
    [ -d "$1" ] || return 0
    { findmnt -rn -o TARGET | grep -F "$1/" || true; } | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Executed: set up, then print the environment for the caller's shell.
    set -euo pipefail
    _hb_podman_main
    _hb_print_exports
else
    # Sourced: a failure must not end the caller's shell, so the work runs in
    # a subshell (where die() exits) and only its exports come back.
    if _hb_exports=$(set -euo pipefail; _hb_podman_main >&2 && _hb_print_exports); then
        eval "$_hb_exports"
        unset _hb_exports
    else
        unset _hb_exports
        return 1
    fi
fi
