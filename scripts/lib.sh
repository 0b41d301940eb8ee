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

# has_hlsbridge_muxer FFMPEG: whether that ffmpeg knows the hlsbridge muxer.
# The help is read whole before it is searched: with pipefail, `| grep -q`
# fails at random when grep quits before ffmpeg has written all of it.
has_hlsbridge_muxer() {
    local help
    help=$("$1" -hide_banner -h muxer=hlsbridge 2>/dev/null) || return 1
    grep -q 'Muxer hlsbridge' <<<"$help"
}

# apt_source_files: the apt source files apt reads on this machine.
apt_source_files() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ -s "$f" ] && printf '%s\n' "$f"
    done
    return 0
}

# apt_source_entries [FILE...]: one line "type<TAB>uri<TAB>suite<TAB>signed-by"
# per enabled entry (type deb or deb-src; one line per URI and suite) of the
# given apt source files (default: apt_source_files), one-line (.list) and
# deb822 (.sources) formats alike. signed-by is empty unless it names a file.
apt_source_entries() {
    local f
    local -a files
    if [ $# -eq 0 ]; then
        mapfile -t files < <(apt_source_files)
        set -- "${files[@]}"
    fi
    for f in "$@"; do
        [ -r "$f" ] || continue
        case "$f" in
        *.sources)
            awk '
                function flush(   n, m, k, i, j, t, u, s, x) {
                    if (enabled && uris != "") {
                        k = split(types, t, /[ \t]+/)
                        n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
                        for (h = 1; h <= k; h++) for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
                            x = s[j]; sub(/\/$/, "", x)
                            if ((t[h] == "deb" || t[h] == "deb-src") && u[i] != "" && x != "")
                                printf "%s\t%s\t%s\t%s\n", t[h], u[i], x, signed
                        }
                    }
                    types = ""; uris = ""; suites = ""; signed = ""; enabled = 1
                }
                BEGIN { enabled = 1 }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/ { next }      # continuation line (inline key block)
                {
                    key = tolower($0); sub(/:.*/, "", key)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "enabled" && tolower(val) ~ /^no/) enabled = 0
                    else if (key == "signed-by" && val ~ /^\//) signed = val
                }
                END { flush() }' "$f"
            ;;
        *)
            awk '
                /^[ \t]*(deb|deb-src)[ \t]/ {
                    i = 2; signed = ""
                    if ($i ~ /^\[/) {
                        for (; i <= NF; i++) {
                            o = $i; gsub(/[\[\]]/, "", o)
                            if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); signed = o }
                            if ($i ~ /\]$/) break
                        }
                        i++
                    }
                    suite = $(i + 1); sub(/\/$/, "", suite)
                    printf "%s\t%s\t%s\t%s\n", $1, $i, suite, signed
                }' "$f"
            ;;
        esac
    done
}

# debian_mirror SUITE_RE [FILE...]: "uri<TAB>signed-by" of the first apt
# entry (deb or deb-src, http(s) or file URI) whose suite matches the
# extended regular expression SUITE_RE, e.g. '^bookworm$' (a release, not a
# -security or -updates pocket). HLSBRIDGE_DEBIAN_MIRROR, when set, is the
# answer instead. Prints nothing when there is none.
debian_mirror() {
    local suite_re=$1
    shift
    if [ -n "${HLSBRIDGE_DEBIAN_MIRROR:-}" ]; then
        printf '%s\t\n' "$HLSBRIDGE_DEBIAN_MIRROR"
        return 0
    fi
    apt_source_entries "$@" | awk -F'\t' -v re="$suite_re" \
        '$2 ~ /^(https?|file):\/\// && $3 ~ re { print $2 "\t" $4; exit }'
}
