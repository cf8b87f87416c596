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

# --all: unit and interop tests, then the suite on the chosen target, reference-cli and QEMU.
status=0
dotnet test "$root/tests/UnitTests/Qcow2.UnitTests.csproj" "${build_args[@]}" || status=1
run_suite "${args[@]}" || status=1
if [ "$target" = reference ]; then
    run_suite "${args[@]}" --target reference-cli || status=1
fi

if ! command -v qemu-img >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "qemu-img not found: installing qemu-utils"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-utils >/dev/null
    else
        echo "qemu-img not found: install QEMU's tools to run the suite against QEMU, e.g."
        echo "  sudo apt-get install qemu-utils    (Debian/Ubuntu)"
        echo "  sudo dnf install qemu-img           (Fedora)"
        echo "  brew install qemu                   (macOS)"
    fi
fi
if [ "$target" != qemu ] && command -v qemu-img >/dev/null 2>&1; then
    run_suite "${args[@]}" --target qemu || status=1
fi
exit $status
