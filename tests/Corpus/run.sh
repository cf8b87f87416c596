#!/usr/bin/env bash
# Runs the qcow2 conformance corpus against readers and prints "NAME: N passed, N failed" for each.
#   tests/Corpus/run.sh [--publish] [NAME=COMMAND...]
#   tests/Corpus/run.sh --writers [--publish] [NAME=COMMAND...]
# Without adapters it runs QEMU 7.2 (qemu), this project's qimg (ours) and libqcow (python3-libqcow). An adapter
# COMMAND gets the image path as its last argument and writes the guest disk to stdout, or exits non-zero to refuse.
# With --writers it runs the writer cases instead (default adapters: qemu, ours and the deliberately naive example):
# a writer adapter gets 'create IMAGE SIZE' or 'write IMAGE PATTERN OFFSET LENGTH' and exits non-zero to refuse;
# QEMU checks what it wrote (docs/corpus.md). --publish then writes docs/corpus-writers.md.
# The cases are generated into a temporary folder; the expectations are the checked-in sidecars in
# tests/Corpus/expected. --publish writes the matrix to docs/corpus-results.md and docs/corpus-results.json.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
publish=false writers=false
while [ $# -gt 0 ]; do
    case "$1" in
        --publish) publish=true; shift ;;
        --writers) writers=true; shift ;;
        *) break ;;
    esac
done
adapters=("$@")
if [ ${#adapters[@]} -eq 0 ] && ! $writers; then
    a="$root/tests/Corpus/adapters"
    adapters=("qemu=$a/qemu" "ours=$a/qimg" "libqcow=$a/libqcow")
fi
dotnet build "$root/tests/Corpus/Corpus.csproj" -c Release -v quiet -nologo >/dev/null
corpus="$root/tests/Corpus/bin/Release/net10.0/corpus"
if $writers; then
    a="$root/tests/Corpus/adapters"
    [ ${#adapters[@]} -gt 0 ] || adapters=("qemu=$a/qemu-writer" "ours=$a/qimg-writer" "naive=$a/raw-writer")
    dotnet build "$root/tools/qio/qio.csproj" -c Release -v quiet -nologo >/dev/null
    matrix=$(mktemp "${TMPDIR:-/tmp}/corpus-writers.XXXXXX")
    trap 'rm -f "$matrix"' EXIT
    "$corpus" writers --md "$matrix" "${adapters[@]}"
    if $publish; then
        {
            echo "# Conformance corpus: writer results"
            echo
            echo "Made by \`tests/Corpus/run.sh --writers --publish\` (see [corpus.md](corpus.md) for the writer contract):"
            echo "qemu is $(qemu-img --version | head -n 1) (qemu-img create, qemu-io write), ours is this project's qimg and qio,"
            echo "naive is \`tests/Corpus/adapters/raw-writer\`, a deliberately naive writer (in place, no overlap checks, no allocation)."
            echo
            cat "$matrix"
        } > "$root/docs/corpus-writers.md"
        echo "published docs/corpus-writers.md"
    fi
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$corpus" generate "$work/cases" >/dev/null
"$corpus" run "$work/cases" "$root/tests/Corpus/expected" --md "$work/matrix.md" --json "$work/matrix.json" "${adapters[@]}"
if $publish; then
    {
        echo "# Conformance corpus results"
        echo
        echo "Made by \`tests/Corpus/run.sh --publish\` (see [corpus.md](corpus.md) for the rules and the findings):"
        echo "qemu is $(qemu-img --version | head -n 1), ours is this project's qimg, libqcow is Debian's"
        echo "python3-libqcow $(/usr/bin/python3 -c 'import pyqcow; print(pyqcow.get_version())' 2>/dev/null || echo '(not installed)')."
        echo
        cat "$work/matrix.md"
    } > "$root/docs/corpus-results.md"
    cp "$work/matrix.json" "$root/docs/corpus-results.json"
    echo "published docs/corpus-results.md and docs/corpus-results.json"
fi
