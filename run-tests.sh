#!/usr/bin/env bash
# Runs the iotests-style conformance suite (tests/iotests) against a target.
# Usage: ./run-tests.sh [--debug] [--all] [-g GROUP] [-x GROUP] [--target NAME] [--bless] [-j N] [--junit FILE] [NNN ...]
# Everything except --debug and --all is passed to the harness (tests/Harness); see tests/README.md.
# IOTESTS_ARTIFACTS=DIR builds with --artifacts-path DIR instead of the projects' bin/ folders.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config=Release
all=0
target=reference
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) config=Debug ;;
        --all) all=1 ;;
        --target) target="$2"; args+=("$1" "$2"); shift ;;
        *) args+=("$1") ;;
    esac
    shift
done

build_args=(-c "$config" -v quiet -nologo)
if [ -n "${IOTESTS_ARTIFACTS:-}" ]; then
    build_args+=(--artifacts-path "$IOTESTS_ARTIFACTS")
    harness="$IOTESTS_ARTIFACTS/bin/Harness/${config,,}/iotests.dll"
else
    harness="$root/tests/Harness/bin/$config/net10.0/iotests.dll"
fi

dotnet build "$root/tests/Harness/Harness.csproj" "${build_args[@]}" >/dev/null || {
    # Show the errors only when the quiet build failed.
    dotnet build "$root/tests/Harness/Harness.csproj" "${build_args[@]}"
    exit 2
}

run_suite() {
    dotnet "$harness" --root "$root" "$@"
}

if [ "$all" = 0 ]; then
    run_suite "${args[@]}"
    exit $?
fi

# --all: every test. QEMU's tools first (the interop tests and the qemu target need them), then the unit and
# interop tests, the suite on the reference engine, on reference-cli and on QEMU, and the quick group through
# run-tests.ps1. One closing line adds them all up.
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

# From here on a failing step is counted, not fatal.
set +e
status=0
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

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
    echo
    echo "=== $1 ==="
    shift
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    tally
    [ "$rc" = 0 ] || status=1
}

step "unit and interop tests" dotnet test "$root/tests/UnitTests/Qcow2.UnitTests.csproj" "${build_args[@]}" -v minimal --filter "TestCategory!=iotests"
# --- packaging (issue 12): the Native AOT publish of the four tools into dist/<rid>/ and the dotnet tool packages
# installed from a folder feed, each run outside the clone (tests/packaging/check.sh, one "N passed, N failed"
# line). Before the suite steps, so that the reference-cli step below runs the fresh native executables.
step "packaging: native publish and dotnet tool install" "$root/tests/packaging/check.sh"
# --- end packaging

step "suite on $target" run_suite "${args[@]}"
if [ "$target" = reference ]; then
    step "suite on reference-cli" run_suite "${args[@]}" --target reference-cli
fi
if [ "$target" != qemu ] && command -v qemu-img >/dev/null 2>&1; then
    step "suite on qemu" run_suite "${args[@]}" --target qemu
fi
if (cd "$root" && dotnet tool restore >/dev/null 2>&1); then
    step "quick group through run-tests.ps1" bash -c 'cd "$0" && dotnet pwsh ./run-tests.ps1 -g quick' "$root"
else
    echo "PowerShell (dotnet tool restore) is not available: run-tests.ps1 was not run"
fi

echo
echo "Total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || status=1
exit $status
