#!/usr/bin/env bash
# Runs the iotests-style conformance suite (tests/iotests) against a target.
# Usage: ./run-tests.sh [--debug] [--all | --unit] [-g GROUP] [-x GROUP] [--target NAME] [--bless] [-j N]
#                       [--junit FILE|DIR] [--ci] [NNN ...]
# ./run-tests.sh --help lists every option (run-tests.ps1 prints the same text); tests/README.md explains them.
# Options other than --debug, --all and --unit go to the harness (tests/Harness). Exit status: 0 when everything
# passed, 1 on failures, 2 on a usage error or a build failure.
# IOTESTS_ARTIFACTS=DIR builds with --artifacts-path DIR instead of the projects' bin/ folders.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config=Release
mode=suite
help=0
target=reference
junit=""
args=()

usage_error() {
    echo "run-tests.sh: $1 (see --help)"
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --debug) config=Debug ;;
        --all | --unit)
            [ "$mode" = suite ] || [ "$mode" = "${1#--}" ] || usage_error "--all and --unit exclude each other"
            mode="${1#--}" ;;
        --target)
            [ $# -ge 2 ] || usage_error "option --target needs a value"
            target="$2"; args+=("$1" "$2"); shift ;;
        --junit)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "option --junit needs a value"
            junit="$2"; shift ;;
        -h | --help) help=1 ;;
        *) args+=("$1") ;;
    esac
    shift
done

# shellcheck source=tools/dotnet-build.sh
source "$root/tools/dotnet-build.sh"
trap stop_compiler_server EXIT
build_args=(-c "$config" -v quiet -nologo "${compiler_server_args[@]}")
if [ -n "${IOTESTS_ARTIFACTS:-}" ]; then
    build_args+=(--artifacts-path "$IOTESTS_ARTIFACTS")
    harness="$IOTESTS_ARTIFACTS/bin/Harness/${config,,}/iotests.dll"
    unit_bin="$IOTESTS_ARTIFACTS/bin/Qcow2.UnitTests/${config,,}"
else
    harness="$root/tests/Harness/bin/$config/net10.0/iotests.dll"
    unit_bin="$root/tests/UnitTests/bin/$config/net10.0"
fi
test_project="$root/tests/UnitTests/Qcow2.UnitTests.csproj"

# Builds a project quietly; when that fails, builds again showing the output (the errors, or a success when the
# first failure was passing, e.g. a file still locked by another build), and exits 2 if it fails again.
build() {
    if ! build_dotnet build "$1" "${build_args[@]}" >/dev/null 2>&1; then
        if ! build_dotnet build "$1" "${build_args[@]}"; then
            echo "run-tests.sh: the build of $(basename "$1") failed"
            exit 2
        fi
    fi
}

# The runner the suite steps start: the built iotests.dll, or with --all the Native AOT runner the packaging step
# has just published from the same sources (below).
runner=(dotnet "$harness")
run_suite() {
    "${runner[@]}" --root "$root" "$@"
}

# Runs the unit and interop tests (dotnet test with the filter $1, JUnit file $2 if not empty). dotnet test prints
# nothing while tests pass, so a heartbeat line every 10 s gives the counts so far and the fixture running.
# The test host runs without the runtime's W^X double mapping of JIT'd code (DOTNET_EnableWriteXorExecute=0), a
# hardening against exploits that a test process does not need: it compiles some 31 000 methods, and without it
# the host took 158 instead of 170 CPU-seconds for the whole step (tests/README.md).
unit_tests() {
    local filter="$1" junit_file="${2:-}" progress pid rc=0 started=$SECONDS last=$SECONDS
    local logger=()
    if [ -n "$junit_file" ]; then
        logger=(--logger "junit;LogFilePath=$junit_file;MethodFormat=Class;FailureBodyFormat=Verbose")
    fi
    progress=$(mktemp)
    DOTNET_EnableWriteXorExecute=0 QCOW2_TEST_PROGRESS="$progress" dotnet test "$test_project" "${build_args[@]}" --no-build -v minimal \
        --filter "$filter" "${logger[@]}" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if [ $((SECONDS - last)) -ge 10 ]; then
            last=$SECONDS
            local count ok bad skip fixture
            if read -r count ok bad skip fixture <"$progress" 2>/dev/null && [ -n "$count" ]; then
                echo "  ... $(elapsed "$started"): $count tests done ($ok passed, $bad failed, $skip skipped), now in $fixture"
            else
                echo "  ... $(elapsed "$started"): starting the test host"
            fi
        fi
    done
    wait "$pid" || rc=$?
    rm -f "$progress"
    return $rc
}

elapsed() {
    local s=$((SECONDS - $1))
    printf '%dm%02ds' $((s / 60)) $((s % 60))
}

if [ "$help" = 1 ]; then
    build "$root/tests/Harness/Harness.csproj"
    run_suite --help
    exit $?
fi

if [ "$mode" = suite ]; then
    echo "building the harness and the tools ($config)..."
    build "$root/tests/Harness/Harness.csproj"
    if [ -n "$junit" ]; then
        args+=(--junit "$junit")
    fi
    rc=0
    run_suite "${args[@]}" || rc=$?
    exit $rc
fi

echo "building the engine, the tools, the harness and the tests ($config)..."
build "$test_project"
# Bad harness options or scenario names stop here with the harness's one-line error, not after the unit tests.
if ! check=$(run_suite "${args[@]}" --list 2>&1); then
    echo "$check" | tail -n 1
    exit 2
fi

if [ "$mode" = unit ]; then
    rc=0
    unit_tests "TestCategory!=iotests&TestCategory!=slow" "$junit" || rc=$?
    exit $rc
fi

# --all: every test. QEMU's tools first (the interop tests and the qemu target need them), then the unit and
# interop tests (the slow category too), the suite on the reference engine, on reference-cli and on QEMU, and the
# quick group through run-tests.ps1. With --junit DIR each step writes DIR/<step>.xml. One closing line adds them up.
if ! command -v qemu-img >/dev/null 2>&1 || ! command -v qemu-io >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "qemu-img not found: installing qemu-utils"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-utils >/dev/null
    else
        echo "qemu-img not found: the interop tests and the qemu target need QEMU's tools, e.g."
        echo "  sudo apt-get install qemu-utils    (Debian/Ubuntu)"
        echo "  sudo dnf install qemu-img           (Fedora)"
        echo "  brew install qemu                   (macOS)"
    fi
fi
# The conformance corpus (tests/Corpus, category corpus) also runs libqcow, from Debian's python3-libqcow.
if ! /usr/bin/python3 -c "import pyqcow" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "pyqcow not found: installing python3-libqcow libqcow-utils"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libqcow libqcow-utils >/dev/null
fi

junit_dir=""
if [ -n "$junit" ]; then
    mkdir -p "$junit" || usage_error "cannot create the JUnit folder $junit"
    junit_dir="$(cd "$junit" && pwd)"
fi
# The JUnit file of a step: DIR/NAME.xml, or nothing without --junit.
junit_for() {
    if [ -n "$junit_dir" ]; then
        echo "$junit_dir/$1.xml"
    fi
}

# From here on a failing step is counted, not fatal.
set +e
status=0
passed=0 failed=0 skipped=0
timings=()
log=$(mktemp)
trap 'rm -f "$log"; stop_compiler_server' EXIT

# Adds the counts of a "N passed, N failed, N skipped" line or of dotnet test's "Failed: N, Passed: N, Skipped: N".
tally() {
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        set -- $(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
        passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0}))
        return
    fi
    line=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        local f p k
        f=$(echo "$line" | sed -E 's/.*Failed: +([0-9]+).*/\1/')
        p=$(echo "$line" | sed -E 's/.*Passed: +([0-9]+).*/\1/')
        k=$(echo "$line" | sed -E 's/.*Skipped: +([0-9]+).*/\1/')
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
    else
        # A run that printed no count (a build error, a crash) counts as one failure.
        failed=$((failed + 1))
    fi
}

step() {
    local title="$1" started=$SECONDS
    shift
    echo
    echo "=== $title ==="
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    tally
    [ "$rc" = 0 ] || status=1
    timings+=("$(printf '%-36s %s' "$title" "$(elapsed "$started")")")
    return "$rc"
}

# The suite on target $1 (with the harness options and any extra ones), writing DIR/suite-$1.xml with --junit.
suite_step() {
    local name="$1" report=()
    shift
    if [ -n "$junit_dir" ]; then
        report=(--junit "$junit_dir/suite-$name.xml")
    fi
    step "suite on $name" run_suite "${args[@]}" "$@" "${report[@]}"
}

all_started=$SECONDS
step "unit and interop tests" unit_tests "TestCategory!=iotests" "$(junit_for unit-tests)"
# --- packaging (issue 12): the Native AOT publish of the four tools into dist/<rid>/ and the dotnet tool packages
# installed from a folder feed, each run outside the clone (tests/packaging/check.sh, one "N passed, N failed"
# line). Before the suite steps, so that the reference-cli step below runs the fresh native executables.
packaging_report=()
[ -n "$junit_dir" ] && packaging_report=(--junit "$junit_dir/packaging.xml")
# When it passed, the suite steps run the native runner it published (dist/<rid>/iotests; not with --debug, which
# asks for the Debug build): the reference target then runs the engine as the executables ship it, trimmed and
# compiled ahead of time, and no step pays the JIT (the reference step took 9 s instead of 14 on a clean clone).
if step "packaging: native publish and dotnet tool install" "$root/tests/packaging/check.sh" "${packaging_report[@]}"; then
    native=$(sed -n 's/^ *published .* to \(.*\) in [0-9]* s$/\1/p' "$log")
    if [ "$config" = Release ] && [ -n "$native" ] && [ -x "$native/iotests" ]; then
        runner=("$native/iotests")
        echo "the suite steps run the native runner $native/iotests"
    fi
fi
# --- end packaging
# The suite on QEMU gets the fast clock for QEMU's PBKDF2 benchmark that the unit tests built (QemuClock, tests/README.md):
# its LUKS scenarios spend most of their time in that benchmark otherwise.
qemu_preload="${LD_PRELOAD:-}"
if [ -f "$unit_bin/qemu-clock.so" ]; then
    qemu_preload="$unit_bin/qemu-clock.so${LD_PRELOAD:+ $LD_PRELOAD}"
fi
if [ "$target" = qemu ]; then
    LD_PRELOAD="$qemu_preload" suite_step qemu
else
    suite_step "$target"
fi
if [ "$target" = reference ]; then
    suite_step reference-cli --target reference-cli
fi
if [ "$target" != qemu ] && command -v qemu-img >/dev/null 2>&1; then
    LD_PRELOAD="$qemu_preload" suite_step qemu --target qemu
fi
if (cd "$root" && dotnet tool restore >/dev/null 2>&1); then
    ps_args=(-g quick)
    [ "$config" = Debug ] && ps_args+=(--debug)
    [ -n "$junit_dir" ] && ps_args+=(--junit "$junit_dir/quick-ps1.xml")
    step "quick group through run-tests.ps1" bash -c 'cd "$0" && dotnet pwsh ./run-tests.ps1 "$@"' "$root" "${ps_args[@]}"
else
    echo "PowerShell (dotnet tool restore) is not available: run-tests.ps1 was not run"
fi

echo
printf '%s\n' "${timings[@]}"
printf '%-36s %s\n' "all steps" "$(elapsed "$all_started")"
if [ -n "$junit_dir" ]; then
    echo "JUnit reports: $junit_dir"
fi
echo "Total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || status=1
exit $status
