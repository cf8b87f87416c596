#!/usr/bin/env bash
# Draws the ours/QEMU wall-time and peak-memory ratios of bench/commands.sh's table as an SVG chart (one row per
# command, log scale, a line at 1.0 = as fast / as small as QEMU), with plain awk.
# Usage: bench/plot-commands.sh bench/results/commands.md > bench/results/commands-ratio.svg
set -euo pipefail
md="${1:?usage: plot-commands.sh commands.md}"

awk -F'|' '
function x(v) { if (v < lo) v = lo; if (v > hi) v = hi; return left + plotW * (log(v) - log(lo)) / (log(hi) - log(lo)) }
/^\| command \|/ { intable = 1; next }
intable && /^\|---/ { next }
intable && /^\|/ {
    n++; name[n] = $2; sub(/^ +/, "", name[n]); sub(/ +$/, "", name[n]); wall[n] = $5 + 0; rss[n] = $11 + 0
    next
}
intable { intable = 0 }
END {
    lo = 0.01; hi = 10; left = 250; plotW = 520; top = 50; rowH = 18
    h = top + n * rowH + 50
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", left + plotW + 30, h
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"%d\" y=\"18\" font-size=\"13\">qimg/qio (native) vs qemu-img/qemu-io 7.2: ours / QEMU, median of interleaved runs (log scale)</text>\n", 10
    printf "<rect x=\"%d\" y=\"28\" width=\"10\" height=\"8\" fill=\"#3465a4\"/><text x=\"%d\" y=\"36\">wall time</text>\n", left, left + 14
    printf "<rect x=\"%d\" y=\"28\" width=\"10\" height=\"8\" fill=\"#f57900\"/><text x=\"%d\" y=\"36\">peak RSS</text>\n", left + 90, left + 104
    for (d = lo; d <= hi * 1.0001; d *= 10) {
        printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x(d), top, x(d), top + n * rowH, (d > 0.999 && d < 1.001) ? "black" : "#ccc"
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x(d), top + n * rowH + 14, d
    }
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">ratio (below 1: ours is faster / smaller)</text>\n", left + plotW / 2, top + n * rowH + 32
    for (i = 1; i <= n; i++) {
        y = top + (i - 1) * rowH
        printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6, y + 12, name[i]
        if (wall[i] > 0) printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"7\" fill=\"#3465a4\"><title>%s wall %.2f</title></rect>\n", x(lo), y + 2, x(wall[i]) - x(lo), name[i], wall[i]
        if (rss[i] > 0) printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"7\" fill=\"#f57900\"><title>%s RSS %.2f</title></rect>\n", x(lo), y + 9, x(rss[i]) - x(lo), name[i], rss[i]
    }
    print "</svg>"
}' "$md"
