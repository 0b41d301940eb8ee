# Shared shell helpers for hlsbridge scripts. Source it: . "$(dirname "$0")/lib.sh"
# shellcheck shell=bash

HLSBRIDGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HLSBRIDGE_ROOT

log() { printf '[hlsbridge] %s\n' "$*" >&2; }
die() { printf '[hlsbridge] error: %s\n' "$*" >&2; exit 1; }

# as_root CMD...: runs CMD as root (directly when already root, else via sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages PKG...: installs the Debian packages that are missing.
# Runs `apt-get update` at most once per process tree.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    if [ -z "${HLSBRIDGE_APT_UPDATED:-}" ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
            die "apt-get update failed"
        export HLSBRIDGE_APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
}
