#!/usr/bin/env bash
# Every qimg command and the main qio commands against qemu-img/qemu-io on the same images, side by side.
#
#   bench/commands.sh                         ROUNDS=5 DATA=1G SNAPS=500
#   ROUNDS=9 DATA=8G bench/commands.sh        the issue's 8 GiB image (needs ~20 GiB free and a few minutes more)
#   ONLY='check|convert' bench/commands.sh    only the rows whose name matches the regular expression
#
# Images (built once with qemu-img/qemu-io, in WORKDIR, kept with KEEP=1):
#   small   64 MiB, 4 MiB written                    data  8 GiB virtual, DATA written, 3 snapshots, 1/4 rewritten
#   big     64 TiB, SNAPS snapshots, 4 ranges         comp  256 MiB written, converted with -c
#   bm      1 GiB, 64 MiB written, 4 persistent bitmaps (dirty)
# Each row is one command run as one process per tool. A round runs every row for both tools, the order of
# the two tools alternating from round to round (A/B, B/A, ...), so load from other processes falls on both
# alike. A row may have an untimed preparation (a fresh copy of the image for commands that change it), written
# back to disk before the timed command starts.
# Per run: wall clock (bash EPOCHREALTIME around the process), CPU (user + system) and peak RSS (GNU time %U %S
# %M). The table gives the medians over rounds and ours/QEMU ratios; "out" says whether both tools printed the
# same stdout in the first round (informational: dates and timings differ by nature). Uses dist/<rid>/ (native)
# when it holds qimg and qio, else the JIT build (dotnet build -c Release). Writes OUT (bench/results/commands.md)
# and OUT with .csv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ROUNDS="${ROUNDS:-5}"
DATA="${DATA:-1G}"
SNAPS="${SNAPS:-500}"
ONLY="${ONLY:-.}"
OUT="${OUT:-$here/results/commands.md}"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "commands.sh: qemu-img and qemu-io must be on PATH" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "commands.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; }

rid=$(dotnet msbuild "$repo/tools/qimg/qimg.csproj" -getProperty:NETCoreSdkRuntimeIdentifier -nologo 2>/dev/null | tr -d '[:space:]' || true)
if [ -x "$repo/dist/$rid/qimg" ] && [ -x "$repo/dist/$rid/qio" ]; then
    build="native (dist/$rid)"
    QIMG="$repo/dist/$rid/qimg" QIO="$repo/dist/$rid/qio"
else
    build="JIT (dotnet build -c Release)"
    dotnet build "$repo/tools/qimg/qimg.csproj" -c Release -v quiet -nologo >/dev/null
    dotnet build "$repo/tools/qio/qio.csproj" -c Release -v quiet -nologo >/dev/null
    QIMG="$repo/tools/qimg/bin/Release/net10.0/qimg" QIO="$repo/tools/qio/bin/Release/net10.0/qio"
fi

WORKDIR="${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/qcow2-commands.XXXXXX")}"
mkdir -p "$WORKDIR"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORKDIR"' EXIT
I="$WORKDIR"

# --- images (untimed) ---
# qemu-io arguments that write pattern $1 over the first $2 bytes, 1 GiB per command.
pieces() {
    local at=0 n
    while [ "$at" -lt "$2" ]; do
        n=$(($2 - at)); [ "$n" -le $((1 << 30)) ] || n=$((1 << 30))
        printf -- '-c\nwrite -P %s %d %d\n' "$1" "$at" "$n"
        at=$((at + n))
    done
}
build_images() {
    local q="qemu-img" io="qemu-io"
    if [ ! -f "$I/small.qcow2" ]; then
        $q create -f qcow2 "$I/small.qcow2" 64M >/dev/null
        $io -c 'write -P 0x11 0 4M' "$I/small.qcow2" >/dev/null
    fi
    if [ ! -f "$I/data.qcow2" ]; then
        $q create -f qcow2 "$I/data.qcow2" 8G >/dev/null
        local bytes quarter args
        bytes=$(numfmt --from=iec "$DATA")
        quarter=$((bytes / 4))
        # qemu-io takes at most ~2 GiB per request: 1 GiB write commands in one run.
        mapfile -t args < <(pieces 0x5a "$bytes")
        $io "${args[@]}" "$I/data.qcow2" >/dev/null
        for s in s1 s2 s3; do $q snapshot -c $s "$I/data.qcow2"; done
        mapfile -t args < <(pieces 0x6b "$quarter")
        $io "${args[@]}" "$I/data.qcow2" >/dev/null
        cp "$I/data.qcow2" "$I/data2.qcow2"
        $io -c 'write -P 0x77 4M 64k' "$I/data2.qcow2" >/dev/null
    fi
    if [ ! -f "$I/big.qcow2" ]; then
        $q create -f qcow2 "$I/big.qcow2" 64T >/dev/null
        $io -c 'write -P 1 0 16M' -c 'write -P 2 1T 1M' -c 'write -P 3 32T 1M' -c 'write -P 4 63T 1M' "$I/big.qcow2" >/dev/null
        for ((s = 1; s <= SNAPS; s++)); do $q snapshot -c "s$s" "$I/big.qcow2"; done
        $io -c 'write -P 5 0 4M' "$I/big.qcow2" >/dev/null
    fi
    if [ ! -f "$I/comp.qcow2" ]; then
        $q create -f qcow2 "$I/plain.qcow2" 256M >/dev/null
        $io -c 'write -P 0x33 0 128M' -c 'write -P 0x44 128M 128M' "$I/plain.qcow2" >/dev/null
        $q convert -c -O qcow2 "$I/plain.qcow2" "$I/comp.qcow2"
    fi
    if [ ! -f "$I/bm.qcow2" ]; then
        $q create -f qcow2 "$I/bm.qcow2" 1G >/dev/null
        for b in b0 b1 b2 b3; do $q bitmap --add "$I/bm.qcow2" $b; done
        $io -c 'write -P 0x21 0 64M' "$I/bm.qcow2" >/dev/null
    fi
    if [ ! -f "$I/base.qcow2" ]; then
        $q create -f qcow2 "$I/base.qcow2" 1G >/dev/null
        $io -c 'write -P 0x01 0 64M' "$I/base.qcow2" >/dev/null
        $q create -f qcow2 -b base.qcow2 -F qcow2 "$I/top.qcow2" >/dev/null
        $io -c 'write -P 0x02 32M 64M' "$I/top.qcow2" >/dev/null
        $q create -f qcow2 "$I/base2.qcow2" 1G >/dev/null
    fi
}
echo "building images in $I (DATA=$DATA, SNAPS=$SNAPS) ..." >&2
build_images

# --- rows: name | preparation (untimed, may be empty) | command with $T (qimg/qemu-img), $IO (qio/qemu-io), $W ---
# $W is a scratch folder per tool; copies made there are the ones the command changes.
rows=(
    "info small||\$T info $I/small.qcow2"
    "info 64T snapshots||\$T info $I/big.qcow2"
    "info json data||\$T info --output=json $I/data.qcow2"
    "check data||\$T check $I/data.qcow2"
    "check 64T snapshots||\$T check $I/big.qcow2"
    "check compressed||\$T check $I/comp.qcow2"
    "check bitmaps||\$T check $I/bm.qcow2"
    "map data||\$T map $I/data.qcow2"
    "map json 64T||\$T map --output=json $I/big.qcow2"
    "compare data||\$T compare $I/data.qcow2 $I/data2.qcow2"
    "measure data||\$T measure -O qcow2 $I/data.qcow2"
    "create 64T||\$T create -f qcow2 \$W/new.qcow2 64T"
    "convert data qcow2|rm -f \$W/out.qcow2|\$T convert -O qcow2 $I/data.qcow2 \$W/out.qcow2"
    "convert compressed raw|rm -f \$W/out.raw|\$T convert -O raw $I/comp.qcow2 \$W/out.raw"
    "convert -c small|rm -f \$W/outc.qcow2|\$T convert -c -O qcow2 $I/small.qcow2 \$W/outc.qcow2"
    "convert bitmaps|rm -f \$W/outb.qcow2|\$T convert --bitmaps -O qcow2 $I/bm.qcow2 \$W/outb.qcow2"
    "snapshot -l 64T||\$T snapshot -l $I/big.qcow2"
    "snapshot -c 64T|cp $I/big.qcow2 \$W/big.qcow2|\$T snapshot -c new \$W/big.qcow2"
    "snapshot -d 64T|cp $I/big.qcow2 \$W/big.qcow2|\$T snapshot -d s250 \$W/big.qcow2"
    "snapshot -a data|cp $I/data.qcow2 \$W/data.qcow2|\$T snapshot -a s1 \$W/data.qcow2"
    "commit|cp $I/base.qcow2 $I/top.qcow2 \$W/|\$T commit \$W/top.qcow2"
    "rebase|cp $I/base.qcow2 $I/top.qcow2 $I/base2.qcow2 \$W/|\$T rebase -b base2.qcow2 -F qcow2 \$W/top.qcow2"
    "rebase -u|cp $I/base.qcow2 $I/top.qcow2 $I/base2.qcow2 \$W/|\$T rebase -u -b base2.qcow2 -F qcow2 \$W/top.qcow2"
    "amend refcount_bits|cp $I/small.qcow2 \$W/small.qcow2|\$T amend -o refcount_bits=64 \$W/small.qcow2"
    "amend compat 0.10|cp $I/data.qcow2 \$W/data.qcow2|\$T amend -o compat=0.10 \$W/data.qcow2"
    "resize +1G|cp $I/small.qcow2 \$W/small.qcow2|\$T resize \$W/small.qcow2 +1G"
    "bitmap --add|cp $I/bm.qcow2 \$W/bm.qcow2|\$T bitmap --add \$W/bm.qcow2 b9"
    "bitmap --remove|cp $I/bm.qcow2 \$W/bm.qcow2|\$T bitmap --remove \$W/bm.qcow2 b1"
    "bitmap --merge|cp $I/bm.qcow2 \$W/bm.qcow2|\$T bitmap --merge b0 \$W/bm.qcow2 b2"
    "dd|rm -f \$W/dd.raw|\$T dd if=$I/small.qcow2 of=\$W/dd.raw bs=1M count=16"
    "bench 20000 4k writes|cp $I/small.qcow2 \$W/small.qcow2|\$T bench -w -c 20000 -s 4k \$W/small.qcow2"
    "open 64T overlap=all + 1 write|cp $I/big.qcow2 \$W/big.qcow2|\$IO -c 'write 0 4k' --image-opts driver=qcow2,file.filename=\$W/big.qcow2,overlap-check=all"
    "io read 256M||\$IO -c 'read -P 0x6b 0 256M' $I/data.qcow2"
    "io read 4k x5||\$IO -c 'read 0 4k' -c 'read 1M 4k' -c 'read 2M 4k' -c 'read 3M 4k' -c 'read 4M 4k' $I/data.qcow2"
    "io write 32M|cp $I/small.qcow2 \$W/small.qcow2|\$IO -c 'write -P 0x99 0 32M' \$W/small.qcow2"
    "io write -z|cp $I/small.qcow2 \$W/small.qcow2|\$IO -c 'write -z 0 64M' \$W/small.qcow2"
    "io discard|cp $I/small.qcow2 \$W/small.qcow2|\$IO -c 'discard 0 64M' \$W/small.qcow2"
    "io map data||\$IO -c map $I/data.qcow2"
    "io compressed read||\$IO -c 'read -P 0x33 0 128M' $I/comp.qcow2"
)

tools=("ours|$QIMG|$QIO" "qemu|qemu-img|qemu-io")
csv="${OUT%.md}.csv"
mkdir -p "$(dirname "$OUT")"
echo "row,tool,round,wall_ms,cpu_s,rss_kib" >"$csv"
tf="$I/time.$$"
declare -A firstout

run_one() { # row-index tool-index round
    local row="${rows[$1]}" tool="${tools[$2]}"
    local name prep cmd label T IO W
    IFS='|' read -r name prep cmd <<<"$row"
    IFS='|' read -r label T IO <<<"$tool"
    W="$I/w-$label"
    mkdir -p "$W"
    if [ -n "$prep" ]; then
        eval "$prep" >/dev/null 2>&1
        # The copy's dirty pages are written back now, untimed: else the timed command's first fdatasync pays for them.
        sync -f "$W"
    fi
    local t0 t1
    t0=$EPOCHREALTIME
    eval "/usr/bin/time -f '%U %S %M' -o '$tf' $cmd" >"$I/out.$label" 2>/dev/null || true
    t1=$EPOCHREALTIME
    read -r u s m < <(tail -n 1 "$tf")
    echo "$1,$label,$3,$(((${t1/./} - ${t0/./}) / 10))e-2,$(echo "$u $s" | awk '{print $1 + $2}'),$m" >>"$csv"
    if [ "$3" = 0 ]; then
        sed -e "s|$W|W|g" "$I/out.$label" >"$I/out.$label.$1"
    fi
}

echo "commands benchmark: $ROUNDS rounds, ours = $build, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((round = 0; round < ROUNDS; round++)); do
    for ((i = 0; i < ${#rows[@]}; i++)); do
        [[ "${rows[$i]%%|*}" =~ $ONLY ]] || continue
        if (((round + i) % 2 == 0)); then order="0 1"; else order="1 0"; fi
        for t in $order; do run_one "$i" "$t" "$round"; done
    done
    echo "round $((round + 1))/$ROUNDS done" >&2
done

{
    echo "# qimg/qio vs qemu-img/qemu-io, command by command"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg);"
    echo "ours: $build; $(qemu-img --version | head -1). Rounds: $ROUNDS; DATA=$DATA; SNAPS=$SNAPS."
    echo
    echo "| command | ours ms | QEMU ms | wall ratio | ours CPU s | QEMU CPU s | CPU ratio | ours RSS MiB | QEMU RSS MiB | RSS ratio | out |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for ((i = 0; i < ${#rows[@]}; i++)); do
        [[ "${rows[$i]%%|*}" =~ $ONLY ]] || continue
        same="differs"
        cmp -s "$I/out.ours.$i" "$I/out.qemu.$i" && same="same"
        awk -F, -v i="$i" -v name="${rows[$i]%%|*}" -v same="$same" '
            function med(a, n,   j, k, t) {
                for (j = 2; j <= n; j++) { t = a[j]; for (k = j - 1; k >= 1 && a[k] > t; k--) a[k + 1] = a[k]; a[k + 1] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
            $1 == i && $2 == "ours" { ow[++o] = $4; oc[o] = $5; orss[o] = $6 }
            $1 == i && $2 == "qemu" { qw[++q] = $4; qc[q] = $5; qrss[q] = $6 }
            END {
                if (!o || !q) exit
                w1 = med(ow, o); w2 = med(qw, q); c1 = med(oc, o); c2 = med(qc, q); r1 = med(orss, o) / 1024; r2 = med(qrss, q) / 1024
                printf "| %s | %.1f | %.1f | %s | %.2f | %.2f | %s | %.1f | %.1f | %s | %s |\n",
                    name, w1, w2, ratio(w1, w2), c1, c2, (c2 >= 0.01 ? ratio(c1, c2) : "-"), r1, r2, ratio(r1, r2), same
            }' "$csv"
    done
} >"$OUT"
cat "$OUT"
