#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
# Installs what it needs (Debian packages as root, npm packages), builds the
# core, its sanitizer variants and fuzzer, both custom FFmpeg series, and runs
# every test against the real components. Prints one summary line at the end:
#   tests: N passed, N failed
#
# Environment: FUZZ_SECONDS (default 60), SERIES (default "8.1 7.1"),
#   SKIP_DOCKER=1 / SKIP_BROWSER=1 to leave those stages out locally.
#
#   bash scripts/test.sh --quick    the core and its unit tests only
#                                   (no FFmpeg build; about a minute)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$HLSBRIDGE_ROOT"

quick=
for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    *) die "unknown argument: $arg (expected --quick)" ;;
    esac
done

ensure_packages build-essential cmake pkg-config googletest libgtest-dev \
    libbenchmark-dev clang libclang-rt-dev python3 nginx

passed=0
failed=0
failed_names=()
logdir="$HLSBRIDGE_ROOT/build/test-logs"
mkdir -p "$logdir"

# finish: the summary line, and the exit status.
finish() {
    echo
    echo "tests: $passed passed, $failed failed"
    if [ "$failed" -gt 0 ]; then
        log "failed stages: ${failed_names[*]} (logs in $logdir)"
        exit 1
    fi
    exit 0
}

# record NAME PASSED FAILED
record() {
    passed=$((passed + $2))
    failed=$((failed + $3))
    if [ "$3" -gt 0 ]; then failed_names+=("$1"); fi
}

# junit_counts FILE: "TESTS FAILED" from a JUnit XML report (CTest's
# --output-junit or scripts/unittest_junit.py), or nothing when the file is
# missing or unreadable.
junit_counts() {
    python3 - "$1" <<'PY' 2>/dev/null
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(tests, bad)
PY
}

# counted_stage NAME CMD...: runs CMD, which writes the JUnit report
# $logdir/NAME.xml, and counts each test in it. No report, or a failing CMD
# whose report shows no failure (a crash, a build failure), counts as one
# failure more.
counted_stage() {
    local name="$1" out xml counts total fails rc
    shift
    out="$logdir/$name.log"
    xml="$logdir/$name.xml"
    rm -f "$xml"
    log "== $name"
    "$@" >"$out" 2>&1
    rc=$?
    grep -E '^concurrent reader|^kill -9|\[faults\] (kill|disk|read-only)' "$out" | tail -n 5
    counts=$(junit_counts "$xml")
    if [ -z "$counts" ]; then
        tail -n 40 "$out"
        log "FAILED: $name: no test report (log: $out)"
        record "$name" 0 1
        return
    fi
    read -r total fails <<<"$counts"
    if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then fails=1; total=$((total + 1)); fi
    log "$name: $((total - fails)) passed, $fails failed"
    [ "$fails" -gt 0 ] && tail -n 60 "$out"
    record "$name" $((total - fails)) "$fails"
}

# ctest_stage NAME BUILD_DIR: counts each CTest test of BUILD_DIR.
ctest_stage() {
    counted_stage "$1" ctest --test-dir "$2" --output-on-failure -j "$(nproc)" \
        --output-junit "$logdir/$1.xml"
}

# unittest_stage NAME DIR: counts each Python test found in DIR.
unittest_stage() {
    counted_stage "$1" python3 scripts/unittest_junit.py "$logdir/$1.xml" "$2"
}

# step NAME CMD...: one test that passes when CMD exits 0.
step() {
    local name="$1" out
    shift
    out="$logdir/$name.log"
    log "== $name"
    if "$@" >"$out" 2>&1; then
        tail -n 3 "$out"
        record "$name" 1 0
    else
        tail -n 40 "$out"
        log "FAILED: $name (log: $out)"
        record "$name" 0 1
    fi
}

# clang_build DIR CMAKE_ARGS...: configure with clang and build.
clang_build() {
    local dir="$1"
    shift
    cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DHLSBRIDGE_BUILD_SHARED=OFF -DHLSBRIDGE_WERROR=ON "$@" &&
        cmake --build "$dir" -j "$(nproc)"
}

# 1. The core, built and installed (build/install, for FFmpeg's configure)
# by the same script the Dockerfile runs, benchmarks compiled; unit tests.
step core-build env CMAKE_ARGS="-DHLSBRIDGE_BUILD_BENCHMARKS=ON -DHLSBRIDGE_WERROR=ON" \
    bash scripts/build-core.sh
ctest_stage core-unit build/core
if [ -n "$quick" ]; then
    finish
fi

# 2. ASan + UBSan and TSan (clang, which also checks -Wthread-safety).
step asan-build clang_build build/asan -DCMAKE_BUILD_TYPE=Debug -DHLSBRIDGE_SANITIZE=address,undefined
ctest_stage asan-ubsan build/asan
step tsan-build clang_build build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHLSBRIDGE_SANITIZE=thread
TSAN_OPTIONS="halt_on_error=1" ctest_stage tsan build/tsan

# 3. The fuzzer over the C API, for a bounded time.
fuzz_run() {
    clang_build build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHLSBRIDGE_BUILD_TESTS=OFF \
        -DHLSBRIDGE_BUILD_FUZZERS=ON -DHLSBRIDGE_SANITIZE=address,undefined || return 1
    local corpus="$HLSBRIDGE_ROOT/build/fuzz-corpus"
    mkdir -p "$corpus"
    # Every input creates, writes and renames files: on tmpfs that runs about
    # five times as many inputs in the same time as on disk.
    local scratch=/dev/shm
    [ -d "$scratch" ] && [ -w "$scratch" ] || scratch="${TMPDIR:-/tmp}"
    TMPDIR="$scratch" build/fuzz/fuzz/hlsbridge_fuzz_c_api -max_total_time="${FUZZ_SECONDS:-60}" \
        -artifact_prefix="$HLSBRIDGE_ROOT/build/" -print_final_stats=1 "$corpus"
}
step fuzz fuzz_run
grep -E 'stat::number_of_executed_units' "$logdir/fuzz.log" >&2 || true

# 4. Both FFmpeg series with the muxer, each tested end to end.
read -r -a all_series <<<"${SERIES:-8.1 7.1}"
for series in "${all_series[@]}"; do
    if [ "$series" = 8.1 ]; then prefix=build/ffmpeg; else prefix=build/ffmpeg-$series; fi
    step "ffmpeg-$series-build" env SKIP_CORE=1 bash scripts/build-ffmpeg.sh "$series"
    export FFMPEG="$HLSBRIDGE_ROOT/$prefix/bin/ffmpeg" FFPROBE="$HLSBRIDGE_ROOT/$prefix/bin/ffprobe"
    step "smoke-$series" bash tests/e2e/smoke.sh
    unittest_stage "e2e-$series" tests/e2e
    if [ -z "${SKIP_BROWSER:-}" ]; then
        # Every browser run with the default series; with the others, one of
        # each kind (the muxer is the same source, the FFmpeg around it not),
        # to keep the suite within its time.
        browser_runs=(live event vod hostile live-fmp4 event-fmp4 vod-fmp4 live-av1 event-av1
            discont-fmp4 event-aes event-aes-fmp4 rekey rekey-fmp4 ladder ladder-fmp4
            restart restart-fmp4 origin origin-fmp4)
        [ "$series" = 8.1 ] ||
            browser_runs=(live event-fmp4 live-av1 discont-fmp4 event-aes-fmp4 rekey
                ladder-fmp4 restart-fmp4 origin-fmp4)
        for t in "${browser_runs[@]}"; do
            step "browser-$t-$series" bash tests/browser/run.sh "$t"
        done
    fi
done

# 5. Faults on real file systems, the browser-independent server and the
# demo, with the default series.
export FFMPEG="$HLSBRIDGE_ROOT/build/ffmpeg/bin/ffmpeg" FFPROBE="$HLSBRIDGE_ROOT/build/ffmpeg/bin/ffprobe"
unittest_stage faults tests/faults
if [ -z "${SKIP_BROWSER:-}" ]; then
    step browser-server bash tests/browser/run.sh server
    step demo bash tests/browser/run.sh demo
fi

# The whole-process benchmark script, on a tiny input: it must keep working
# (its figures are for the README, not for a pass/fail test).
bench_smoke() {
    local report
    report=$(DURATION=4 RUNS=1 CALLGRIND_DURATION=0 LIVE_SECONDS=0 \
        OUT="$HLSBRIDGE_ROOT/build/bench-smoke" bash bench/compare.sh) || return 1
    echo "$report"
    # A row of figures for every variant, and hlsbridge's latency line.
    for v in segment hls hlsbridge-live hlsbridge-event hlsbridge-vod; do
        grep -Eq "^$v +[0-9.]+ +[0-9.]+ +[0-9.]+" <<<"$report" || { echo "no figures for $v"; return 1; }
    done
    grep -Eq 'published: p50 [0-9]+ us, p99 [0-9]+ us' <<<"$report" || { echo "no latency line"; return 1; }
}
step bench-compare-smoke bench_smoke

# 6. docker/: the image built with podman and run on a lavfi source.
step playlist-checker bash tests/docker/test_check_playlist.sh
if [ -z "${SKIP_DOCKER:-}" ]; then
    step docker bash tests/docker/test_docker.sh
fi

finish
