#!/usr/bin/env bash
# Overlap-check benchmark: qimg bench (metadata list and linear scan) against real qemu-img bench on the same images.
#
#   bench/run.sh                 reduced matrix (about 10 minutes on 2 cores)
#   FULL=1 bench/run.sh          1G/16G/256G preallocated and 1T/4T/16T/64T sparse, each with 0/10/50/500 snapshots
#   IMAGES="1G:metadata:10 64T:off:50" bench/run.sh    an explicit list of SIZE:PREALLOC:SNAPSHOTS
#
# Knobs (environment): ROUNDS (5), QIMG_COUNT (200000), QEMU_COUNT (50000), TARGET_SECONDS (0.5, how long a slow mode's
# run may take; its request count is cut to fit), LIMIT (the total-size-limit in bytes of the extra "all, limited" run;
# default auto: the list's fixed part, i.e. list, window records and cache slots, plus half of what the unlimited list
# used beyond it, so that the limit bites: some windows cannot load and their ranges go unchecked, as the series does),
# WORKDIR (/tmp/qcow2-bench), KEEP=1 (keep the images), OUT (bench/results), NO_QEMU=1 (qimg only).
#
# Method (as in the QEMU 7.2 observations, Part B): 64 KiB clusters; preallocation=metadata images or sparse ones with
# a warmed range; snapshots made with `snapshot -c` after a first 64 KiB write pass over the range, then a second pass so
# every timed write overwrites a cluster the image owns (the copy-on-write after the snapshots happens there). Each timed
# run is one process: `bench -w -s 4k -c N --image-opts driver=qcow2,file.filename=IMG,overlap-check=MODE[,...]`.
# Rounds run every (tool, mode) once, the order rotated per round. The time is the one bench prints ("Run completed in").
# ratio = median over rounds of (µs per write of the mode / µs per write of `none`, same tool, same round).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ROUNDS="${ROUNDS:-5}"
QIMG_COUNT="${QIMG_COUNT:-200000}"
QEMU_COUNT="${QEMU_COUNT:-50000}"
TARGET_SECONDS="${TARGET_SECONDS:-0.5}"
LIMIT="${LIMIT:-auto}"
WORKDIR="${WORKDIR:-/tmp/qcow2-bench}"
OUT="${OUT:-$here/results}"
ART="${ARTIFACTS:-$WORKDIR/artifacts}"
MIN_COUNT=20

if [[ -z "${IMAGES:-}" ]]; then
    if [[ "${FULL:-0}" == 1 ]]; then
        IMAGES=""
        for s in 1G 16G 256G; do for n in 0 10 50 500; do IMAGES+=" $s:metadata:$n"; done; done
        for s in 1T 4T 16T 64T; do for n in 0 10 50 500; do IMAGES+=" $s:off:$n"; done; done
    else
        IMAGES="1G:metadata:0 1G:metadata:10 1G:metadata:50 1G:metadata:500 256G:metadata:0 256G:metadata:50 64T:off:0 64T:off:50"
    fi
fi

have_qemu=1
if [[ "${NO_QEMU:-0}" == 1 ]] || ! command -v qemu-img >/dev/null; then
    have_qemu=0
    echo "qemu-img not used (NO_QEMU=1 or not on PATH): qimg only" >&2
fi
timer=()
if [[ -x /usr/bin/time ]]; then
    timer=(/usr/bin/time -f "%M %e")
else
    echo "/usr/bin/time not found (Debian package 'time'): no peak RSS" >&2
fi

mkdir -p "$WORKDIR" "$OUT"
echo "== building qimg (Release) into $ART" >&2
dotnet build "$repo/tools/qimg/qimg.csproj" -c Release --artifacts-path "$ART" -nologo -v q >&2
QIMG="$ART/bin/qimg/release/qimg"
[[ -x "$QIMG" ]] || { echo "qimg not found at $QIMG" >&2; exit 1; }
builder="$QIMG"
[[ $have_qemu == 1 ]] && builder=qemu-img

csv="$OUT/results.csv"
echo "image,size,prealloc,snapshots,l1_entries,round,tool,structures,mode,count,run_s,wall_s,maxrss_kib,open_s,list_bytes,list_limit" >"$csv"

bytes_of() { # 1G -> bytes
    local n="${1%[KMGTP]}" u="${1: -1}"
    case "$u" in K) echo $((n << 10));; M) echo $((n << 20));; G) echo $((n << 30));; T) echo $((n << 40));; P) echo $((n << 50));; *) echo "$1";; esac
}

# One timed run: tool structures mode count image -> appends a CSV row.
run_one() {
    local tool="$1" structures="$2" mode="$3" count="$4" img="$5" round="$6"
    local opts="driver=qcow2,file.filename=$img,overlap-check=$mode"
    local exe="$QIMG"
    case "$tool/$structures" in
        qimg/scan) opts+=",overlap-structures.mode=scan";;
        qimg/limited) opts+=",overlap-structures.total-size-limit=$img_limit";;
    esac
    [[ "$tool" == qemu-img ]] && exe=qemu-img
    local tf="$WORKDIR/time.txt" of="$WORKDIR/out.txt" ef="$WORKDIR/err.txt"
    rm -f "$tf"
    local t0 t1
    t0="$(date +%s%N)"
    if ! QIMG_BENCH_STATS=1 "${timer[@]}" ${timer:+-o "$tf"} "$exe" bench -w -s 4k -c "$count" --image-opts "$opts" >"$of" 2>"$ef"; then
        echo "FAILED: $exe bench -w -s 4k -c $count --image-opts $opts" >&2
        cat "$of" "$ef" >&2
        exit 1
    fi
    t1="$(date +%s%N)"
    local run wall rss="" open="" lbytes="" llimit="" ignored
    run="$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' "$of")"
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
    if [[ -s "$tf" ]]; then read -r rss ignored < <(tail -n 1 "$tf"); fi
    if grep -q '^bench-stats:' "$ef"; then
        open="$(sed -n 's/.*open_seconds=\([0-9.]*\).*/\1/p' "$ef")"
        lbytes="$(sed -n 's/.*list_bytes=\([0-9]*\).*/\1/p' "$ef")"
        llimit="$(sed -n 's/.*list_limit=\([0-9a-z]*\).*/\1/p' "$ef")"
    fi
    echo "$name,$size,$prealloc,$snaps,$l1,$round,$tool,$structures,$mode,$count,$run,$wall,$rss,$open,$lbytes,$llimit" >>"$csv"
    LAST_RUN="$run"
    LAST_LIST_BYTES="$lbytes"
}

build_image() {
    local img="$1" bytes="$2"
    rm -f "$img"
    "$builder" create -q -f qcow2 -o "cluster_size=65536,preallocation=$prealloc" "$img" "$size" >/dev/null
    local range=$(( (QIMG_COUNT > QEMU_COUNT ? QIMG_COUNT : QEMU_COUNT) * 4096 ))
    (( range > bytes )) && range=$bytes
    local passes=$(( (range + 65535) / 65536 ))
    "$builder" bench -w -s 64k -c "$passes" "$img" >/dev/null
    for ((i = 1; i <= snaps; i++)); do "$builder" snapshot -c "snap$i" "$img"; done
    "$builder" bench -w -s 64k -c "$passes" "$img" >/dev/null
    "$builder" bench -w -s 4k -c "$QEMU_COUNT" "$img" >/dev/null
}

SECONDS=0
for spec in $IMAGES; do
    IFS=: read -r size prealloc snaps <<<"$spec"
    name="$size-$prealloc-s$snaps"
    bytes="$(bytes_of "$size")"
    l1=$(( (bytes + (1 << 29) - 1) >> 29 ))
    img="$WORKDIR/$name.qcow2"
    echo "== $name: building (L1 $l1 entries)" >&2
    build_image "$img" "$bytes"

    # The runs of one round: tool/structures/mode. `none` is one run per tool (no structures are used with it).
    runs=("qimg/list/none" "qimg/list/constant" "qimg/list/cached" "qimg/list/all" "qimg/limited/all"
          "qimg/scan/constant" "qimg/scan/cached" "qimg/scan/all")
    if [[ $have_qemu == 1 ]]; then
        runs+=("qemu-img/scan/none" "qemu-img/scan/constant" "qemu-img/scan/cached" "qemu-img/scan/all")
    fi

    # Calibration (untimed): a short run of each, to cut the request count of slow modes to about TARGET_SECONDS.
    declare -A count=()
    for r in "${runs[@]}"; do
        IFS=/ read -r tool structures mode <<<"$r"
        full=$QIMG_COUNT; [[ $tool == qemu-img ]] && full=$QEMU_COUNT
        # Two probes: a tiny one (a slow mode may take 0.1 s per write), then one of about a fifth of the estimate,
        # since the first is dominated by start-up effects (JIT, first touch of the caches).
        n=$MIN_COUNT
        probes="1 2"
        [[ "$structures" != scan || "$mode" == none || "$mode" == constant ]] && probes=1
        for probe_round in $probes; do
            probe=$n
            (( probe_round == 2 )) && probe=$(( n / 5 > MIN_COUNT ? n / 5 : MIN_COUNT ))
            run_one "$tool" "$structures" "$mode" "$probe" "$img" 0
            n="$(awk -v t="$LAST_RUN" -v p="$probe" -v f="$full" -v target="$TARGET_SECONDS" -v m="$MIN_COUNT" \
                'BEGIN { us = t / p; if (us <= 0) { print f; exit } n = int(target / us); if (n > f) n = f; if (n < m) n = m; print n }')"
        done
        # Cheap modes keep the full count, so that the `none` baseline and the list modes are measured alike.
        [[ "$structures" != scan || "$mode" == none || "$mode" == constant ]] && n=$full
        count[$r]=$n
        if [[ "$r" == qimg/list/all ]]; then
            img_limit="$LIMIT"
            if [[ "$LIMIT" == auto ]]; then
                # Nominal sizes as the engine accounts them: list 56, window 32, cache slot 4 (16 slots by default), map 4096.
                windows=$(( ($(stat -c %s "$img") + (1 << 28) - 1) >> 28 ))
                fixed=$(( 56 + 32 * windows + 4 * 16 ))
                img_limit=$(( fixed + (LAST_LIST_BYTES - fixed) / 2 ))
            fi
        fi
    done

    for ((round = 1; round <= ROUNDS; round++)); do
        k=$(( (round - 1) % ${#runs[@]} ))
        order=("${runs[@]:k}" "${runs[@]:0:k}")
        for r in "${order[@]}"; do
            IFS=/ read -r tool structures mode <<<"$r"
            run_one "$tool" "$structures" "$mode" "${count[$r]}" "$img" "$round"
        done
        echo "   round $round done (${SECONDS}s elapsed)" >&2
    done
    unset count
    [[ "${KEEP:-0}" == 1 ]] || rm -f "$img"
done

{
    echo "# qimg bench vs qemu-img bench: overlap-check cost"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr);"
    echo "$(dotnet --version 2>/dev/null | sed 's/^/.NET SDK /'); $( [[ $have_qemu == 1 ]] && qemu-img --version | head -n 1 || echo 'no qemu-img')."
    echo "Rounds: $ROUNDS; total-size-limit of the limited runs: $LIMIT; requests per run: qimg $QIMG_COUNT, qemu-img $QEMU_COUNT (slow scan modes fewer, see count); 4 KiB writes."
    echo
    bash "$here/summarize.sh" "$csv"
} >"$OUT/summary.md"
bash "$here/plot.sh" "$OUT/summary.md" >"$OUT/overlap-ratio.svg"
cat "$OUT/summary.md"
echo >&2
echo "CSV: $csv; table: $OUT/summary.md; plot: $OUT/overlap-ratio.svg (${SECONDS}s)" >&2
