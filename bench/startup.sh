#!/usr/bin/env bash
# Start-up latency: qimg and qio as Native AOT executables (./publish.sh), as JIT builds (dotnet build's apphost)
# and QEMU's qemu-img and qemu-io, measured side by side in one run.
#
#   bench/startup.sh                  ROUNDS=20 RUNS=10 by default
#   ROUNDS=40 RUNS=20 bench/startup.sh
#
# Each case is one short command whose time is almost all start-up: `--version`, `info` of a 64 MiB qcow2 image,
# and a qio/qemu-io `read 0 512` of that image. Every round runs every variant RUNS times, the variants' order
# rotated from round to round, so that load from other processes falls on all of them alike. Times are wall
# clock per process (bash's EPOCHREALTIME around the command, output to /dev/null). The table gives the median
# and the 90th percentile over all ROUNDS x RUNS runs, and the median's ratio to QEMU's tool.
# Needs dist/<rid>/ (built by ./publish.sh when missing) and qemu-img/qemu-io on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ROUNDS="${ROUNDS:-20}"
RUNS="${RUNS:-10}"

rid=$(dotnet msbuild "$repo/tools/qimg/qimg.csproj" -getProperty:NETCoreSdkRuntimeIdentifier -nologo | tr -d '[:space:]')
native="$repo/dist/$rid"
if [ ! -x "$native/qimg" ] || [ ! -x "$native/qio" ]; then
    "$repo/publish.sh"
fi
dotnet build "$repo/tools/qimg/qimg.csproj" -c Release -v quiet -nologo >/dev/null
dotnet build "$repo/tools/qio/qio.csproj" -c Release -v quiet -nologo >/dev/null
jit_qimg="$repo/tools/qimg/bin/Release/net10.0/qimg"
jit_qio="$repo/tools/qio/bin/Release/net10.0/qio"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "startup.sh: qemu-img and qemu-io must be on PATH" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/qcow2-startup.XXXXXX")
trap 'rm -rf "$work"' EXIT
img="$work/t.qcow2"
qemu-img create -f qcow2 "$img" 64M >/dev/null

# case|variant|command (run through eval, output discarded)
cases=(
    "qimg --version|native|'$native/qimg' --version"
    "qimg --version|JIT|'$jit_qimg' --version"
    "qimg --version|qemu-img|qemu-img --version"
    "qimg info|native|'$native/qimg' info '$img'"
    "qimg info|JIT|'$jit_qimg' info '$img'"
    "qimg info|qemu-img|qemu-img info '$img'"
    "qio read 512|native|'$native/qio' -c 'read 0 512' '$img'"
    "qio read 512|JIT|'$jit_qio' -c 'read 0 512' '$img'"
    "qio read 512|qemu-io|qemu-io -c 'read 0 512' '$img'"
)

# Warm the page cache and check that every command works.
for c in "${cases[@]}"; do
    cmd="${c#*|*|}"
    eval "$cmd" >/dev/null 2>&1 || { echo "startup.sh: failed: $cmd" >&2; exit 1; }
done

echo "start-up latency, $ROUNDS rounds x $RUNS runs, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
n=${#cases[@]}
for ((round = 0; round < ROUNDS; round++)); do
    for ((k = 0; k < n; k++)); do
        i=$(((k + round) % n))
        cmd="${cases[$i]#*|*|}"
        for ((r = 0; r < RUNS; r++)); do
            t0=$EPOCHREALTIME
            eval "$cmd" >/dev/null 2>&1
            t1=$EPOCHREALTIME
            echo "$i ${t0/./} ${t1/./}"
        done
    done
done >"$work/times"

printf '%-16s %-10s %10s %10s %14s\n' case variant "median ms" "p90 ms" "vs QEMU"
for ((i = 0; i < n; i++)); do
    awk -v i="$i" '$1 == i { print ($3 - $2) / 1000 }' "$work/times" | sort -n >"$work/t.$i"
done
for ((i = 0; i < n; i++)); do
    IFS='|' read -r name variant _ <<<"${cases[$i]}"
    base=$((i - i % 3 + 2))   # QEMU's tool is the third variant of each case
    awk -v name="$name" -v variant="$variant" -v basefile="$work/t.$base" '
        { t[NR] = $1 }
        END {
            while ((getline b < basefile) > 0) bt[++m] = b
            med = t[int((NR + 1) / 2)]; p90 = t[int(NR * 0.9 + 0.5)]; bmed = bt[int((m + 1) / 2)]
            printf "%-16s %-10s %10.2f %10.2f %13.2fx\n", name, variant, med, p90, med / bmed
        }' "$work/t.$i"
done
