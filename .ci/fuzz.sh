#!/usr/bin/env bash
# Fuzz the C core (csrc/radix.c) with libFuzzer + ASan + UBSan against the
# reference model in csrc/fuzz/fuzz_radix.c.
#
#   bash .ci/fuzz.sh                    # CI: 60 s timed run
#   bash .ci/fuzz.sh 300                # seconds as an argument
#   FUZZ_SECONDS=3600 bash .ci/fuzz.sh  # longer run (an hour)
#   bash .ci/fuzz.sh 0                  # build and replay only
#
# Steps: install clang and its sanitizer/fuzzer runtime with apt-get when
# missing; build csrc/build/fuzz/fuzz_radix (libFuzzer) and
# csrc/build/fuzz/replay_radix (plain main(), gcc when present); replay
# csrc/fuzz/regressions/ (every saved bug) and csrc/fuzz/corpus/; then fuzz
# for the given time on a temporary copy of the seed corpus, so nothing new
# is written into the repository.  Exits non-zero on any failed replay or
# crash; a crash input is kept under csrc/build/fuzz/artifacts/.
#
# Environment:
#   FUZZ_SECONDS           timed run length (default 60; the argument wins)
#   FUZZ_JOBS              >1: run that many libFuzzer workers (-fork=N)
#   FUZZ_KEEP_CORPUS=DIR   also copy the grown corpus to DIR at the end
#
# Reproduce a crash / regression with a readable trace of the operations:
#   FUZZ_TRACE=1 csrc/build/fuzz/replay_radix csrc/build/fuzz/artifacts/crash-*
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_TO_RUN=${1:-${FUZZ_SECONDS:-60}}
case $SECONDS_TO_RUN in
'' | *[!0-9]*)
    echo "fuzz.sh: run time must be a number of seconds, got '$SECONDS_TO_RUN'" >&2
    exit 2
    ;;
esac
JOBS=${FUZZ_JOBS:-1}
START=$(date +%s)

FUZZ_DIR=$ROOT/csrc/fuzz
BUILD=$ROOT/csrc/build/fuzz
mkdir -p "$BUILD"

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "fuzz.sh: need root (or sudo) to install $*" >&2
        return 1
    fi
}

APT_UPDATED=0
apt_install() {
    echo "== installing $* with apt-get"
    if [ $APT_UPDATED = 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_clang() {
    local c
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$c" >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

fuzzer_links() {
    local dir
    dir=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$dir/t.c"
    "$CLANG" -fsanitize=fuzzer,address,undefined "$dir/t.c" -o "$dir/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$dir"
    return $rc
}

# ---- toolchain ---------------------------------------------------------------
INSTALL_START=$(date +%s)
CLANG=$(find_clang || true)
if [ -z "$CLANG" ]; then
    apt_install clang
    CLANG=$(find_clang)
fi
if ! fuzzer_links; then # the runtime is only a Recommends of clang on Debian
    major=$("$CLANG" -dumpversion | cut -d. -f1)
    apt_install "libclang-rt-$major-dev" || apt_install "libclang-common-$major-dev"
    fuzzer_links || {
        echo "fuzz.sh: $CLANG cannot link -fsanitize=fuzzer" >&2
        exit 1
    }
fi
INSTALL_SECS=$(($(date +%s) - INSTALL_START))
echo "== toolchain: $("$CLANG" --version | head -n1) (setup ${INSTALL_SECS}s)"

# ---- build -------------------------------------------------------------------
DEFS=()
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all)
SRCS=("$ROOT/csrc/radix.c" "$FUZZ_DIR/fuzz_radix.c")

echo "== building $BUILD/fuzz_radix"
"$CLANG" -std=c99 -g -O1 -Wall -Wextra -fsanitize=fuzzer "${SAN[@]}" ${DEFS[@]+"${DEFS[@]}"} \
    -I"$ROOT/csrc" "${SRCS[@]}" -o "$BUILD/fuzz_radix"

REPLAY_CC=$(command -v gcc || echo "$CLANG")
echo "== building $BUILD/replay_radix with $(basename "$REPLAY_CC")"
"$REPLAY_CC" -std=c99 -g -O1 -Wall -Wextra "${SAN[@]}" ${DEFS[@]+"${DEFS[@]}"} \
    -I"$ROOT/csrc" "${SRCS[@]}" "$FUZZ_DIR/replay_main.c" -o "$BUILD/replay_radix"

# ---- replay saved bugs and the seeds --------------------------------------------
failed=()
if [ -d "$FUZZ_DIR/regressions" ]; then
    echo "== replaying regressions"
    for f in "$FUZZ_DIR"/regressions/*; do
        [ -f "$f" ] || continue
        case $f in *.md | *.txt) continue ;; esac
        if { "$BUILD/replay_radix" "$f" >"$BUILD/replay.log" 2>&1; } 2>/dev/null; then
            echo "   ok    ${f#"$ROOT"/}"
        else
            echo "   FAIL  ${f#"$ROOT"/}"
            grep -m1 -E "MISMATCH|ERROR: AddressSanitizer|runtime error" "$BUILD/replay.log" | sed 's/^/         /' || true
            failed+=("$f")
        fi
    done
fi
echo "== replaying the seed corpus"
if ! { "$BUILD/replay_radix" "$FUZZ_DIR/corpus" >"$BUILD/replay.log" 2>&1; } 2>/dev/null; then
    tail -n 30 "$BUILD/replay.log"
    failed+=("csrc/fuzz/corpus")
else
    tail -n 1 "$BUILD/replay.log" | sed 's/^/   /'
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} replay(s) failed; trace one with:" >&2
    echo "  FUZZ_TRACE=1 $BUILD/replay_radix ${failed[0]}" >&2
    exit 1
fi

# ---- snapshot reader/writer (csrc/snapshot.c): build and replay ---------------------
# Its own harness and seeds (fuzz_snapshot.c, corpus_snapshot/); the timed
# run at the end of this script, after the tree's, gets
# FUZZ_SNAPSHOT_SECONDS (default 20, never more than the tree's run time).
SNAP_SRCS=("$ROOT/csrc/snapshot.c" "$FUZZ_DIR/fuzz_snapshot.c")
echo "== building $BUILD/fuzz_snapshot and replay_snapshot"
"$CLANG" -std=c99 -g -O1 -Wall -Wextra -fsanitize=fuzzer "${SAN[@]}" \
    -I"$ROOT/csrc" "${SNAP_SRCS[@]}" -o "$BUILD/fuzz_snapshot"
"$REPLAY_CC" -std=c99 -g -O1 -Wall -Wextra "${SAN[@]}" \
    -I"$ROOT/csrc" "${SNAP_SRCS[@]}" "$FUZZ_DIR/replay_main.c" -o "$BUILD/replay_snapshot"
echo "== replaying the snapshot seed corpus"
if ! { "$BUILD/replay_snapshot" "$FUZZ_DIR/corpus_snapshot" >"$BUILD/replay_snapshot.log" 2>&1; } 2>/dev/null; then
    tail -n 30 "$BUILD/replay_snapshot.log"
    echo "fuzz.sh: the snapshot seed corpus failed to replay" >&2
    exit 1
fi
tail -n 1 "$BUILD/replay_snapshot.log" | sed 's/^/   /'

# ---- timed run -------------------------------------------------------------------
if [ "$SECONDS_TO_RUN" -eq 0 ]; then # libFuzzer reads 0 as "no limit"
    echo "== no timed run (0 s); total time $(($(date +%s) - START))s"
    exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/radix-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -R "$FUZZ_DIR/corpus" "$WORK/corpus"
ARTIFACTS=$BUILD/artifacts
mkdir -p "$ARTIFACTS"
ARGS=(-max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096
    -max_len=4096 -artifact_prefix="$ARTIFACTS/")
if [ "$JOBS" -gt 1 ]; then
    ARGS+=(-fork="$JOBS" -ignore_crashes=0)
fi
echo "== fuzzing for ${SECONDS_TO_RUN}s (corpus copy in $WORK)"
set +e
(cd "$WORK" && "$BUILD/fuzz_radix" "${ARGS[@]}" "$WORK/corpus") >"$BUILD/fuzz.log" 2>&1
rc=$?
set -e
grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" "$BUILD/fuzz.log" | tail -n 3 | sed 's/^/   /' || true

# (each may find nothing, e.g. after a crash: never let that stop the script)
stat() { grep -oE "$1" "$BUILD/fuzz.log" | tail -n1 | sed -E "s/$2//" || true; }
execs=$(stat '^stat::number_of_executed_units: *[0-9]+' '.*: *')
speed=$(stat '^stat::average_exec_per_sec: *[0-9]+' '.*: *')
if [ -z "$execs" ]; then # fork mode prints no stat:: lines
    execs=$(stat '^#[0-9]+' '#')
fi
cov=$(stat 'cov: [0-9]+' 'cov: ')
ft=$(stat 'ft: [0-9]+' 'ft: ')
corp=$(stat 'corp: [0-9]+(/[0-9a-zA-Z]+)?' 'corp: ')
echo "== libFuzzer: executions ${execs:-?} (${speed:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"

if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
    mkdir -p "$FUZZ_KEEP_CORPUS"
    cp -R "$WORK/corpus/." "$FUZZ_KEEP_CORPUS/"
    echo "== grown corpus copied to $FUZZ_KEEP_CORPUS"
fi

echo "== total time $(($(date +%s) - START))s (toolchain setup ${INSTALL_SECS}s)"
if [ $rc -ne 0 ]; then
    echo "fuzz.sh: libFuzzer failed (exit $rc):" >&2
    grep -E -A3 "MISMATCH|ERROR: (AddressSanitizer|libFuzzer)|runtime error" "$BUILD/fuzz.log" | head -n 20 >&2 || true
    crash=$(ls -t "$ARTIFACTS"/crash-* "$ARTIFACTS"/leak-* "$ARTIFACTS"/timeout-* "$ARTIFACTS"/oom-* 2>/dev/null | head -n1 || true)
    if [ -n "$crash" ]; then
        echo "  input: $crash" >&2
        echo "  trace: FUZZ_TRACE=1 $BUILD/replay_radix $crash" >&2
        echo "  then save it under csrc/fuzz/regressions/ so every run replays it" >&2
    fi
    echo "  full log: $BUILD/fuzz.log" >&2
    exit 1
fi

# ---- snapshot: timed run ---------------------------------------------------------------
SNAP_SECONDS=${FUZZ_SNAPSHOT_SECONDS:-20}
if [ "$SNAP_SECONDS" -gt "$SECONDS_TO_RUN" ]; then
    SNAP_SECONDS=$SECONDS_TO_RUN
fi
if [ "$SNAP_SECONDS" -gt 0 ]; then
    cp -R "$FUZZ_DIR/corpus_snapshot" "$WORK/corpus_snapshot"
    echo "== fuzzing the snapshot reader for ${SNAP_SECONDS}s"
    set +e
    (cd "$WORK" && "$BUILD/fuzz_snapshot" -max_total_time="$SNAP_SECONDS" -print_final_stats=1 \
        -timeout=30 -rss_limit_mb=4096 -max_len=8192 -artifact_prefix="$ARTIFACTS/" \
        "$WORK/corpus_snapshot") >"$BUILD/fuzz_snapshot.log" 2>&1
    rc=$?
    set -e
    execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$BUILD/fuzz_snapshot.log" | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE 'cov: [0-9]+' "$BUILD/fuzz_snapshot.log" | tail -n1 | grep -oE '[0-9]+' || true)
    echo "== snapshot libFuzzer: executions ${execs:-?}, cov ${cov:-?}; total time $(($(date +%s) - START))s"
    if [ $rc -ne 0 ]; then
        echo "fuzz.sh: the snapshot fuzzer failed (exit $rc):" >&2
        grep -E -A3 "MISMATCH|ERROR: (AddressSanitizer|libFuzzer)|runtime error" "$BUILD/fuzz_snapshot.log" | head -n 20 >&2 || true
        echo "  replay: $BUILD/replay_snapshot $ARTIFACTS/<crash file>; full log: $BUILD/fuzz_snapshot.log" >&2
        exit 1
    fi
fi
