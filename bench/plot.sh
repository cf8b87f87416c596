#!/usr/bin/env bash
# Draws the `all`-to-`none` ratios of bench/summarize.sh's compact table as an SVG bar chart (log scale), with plain awk.
# Usage: bench/plot.sh summary.md > overlap-ratio.svg
set -euo pipefail
md="${1:?usage: plot.sh summary.md}"

awk -F'|' '
function y(v) { if (v < lo) v = lo; return top + plotH * (log(hi) - log(v)) / (log(hi) - log(lo)) }
/^\| image \| snapshots/ { intable = 1; next }
intable && /^\|---/ { next }
intable && /^\|/ {
    n++; name[n] = $2; gsub(/ /, "", name[n]); v[n, 1] = $5 + 0; v[n, 2] = $8 + 0; v[n, 3] = $10 + 0
    next
}
intable { intable = 0 }
END {
    # The axis reaches the next power of ten above the largest ratio (at least 10^4), so no bar leaves the plot.
    max = 1; for (i = 1; i <= n; i++) for (b = 1; b <= 3; b++) if (v[i, b] > max) max = v[i, b]
    decades = 4; while (10 ^ decades < max) decades++
    lo = 0.5; hi = 10 ^ decades; top = 40; plotH = 360; left = 70; groupW = 66; barW = 18
    w = left + n * groupW + 20; if (w < 780) w = 780; h = top + plotH + 110
    split("#2b8a3e #1c7ed6 #e8590c", color, " ")
    split("qimg, metadata list|qimg, linear scan|qemu-img 7.2 (linear scan)", label, "|")
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", w, h
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"%d\" y=\"20\" font-size=\"14\">overlap-check=all vs none: time per 4 KiB write, ratio (log scale)</text>\n", left
    nt = split("0.5 1 2 5", ticks, " ")
    for (d = 1; d <= decades; d++) ticks[++nt] = 10 ^ d
    for (t = 1; t <= nt; t++) {
        ty = y(ticks[t])
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, w - 20, ty, ty
        printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, ty + 4, ticks[t]
    }
    ty = y(1.10)
    printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c92a2a\" stroke-dasharray=\"5,3\"/>\n", left, w - 20, ty, ty
    printf "<text x=\"%d\" y=\"%.1f\" fill=\"#c92a2a\" text-anchor=\"end\">1.10</text>\n", left - 6, ty - 8
    for (i = 1; i <= n; i++) {
        gx = left + (i - 1) * groupW + 6
        for (b = 1; b <= 3; b++) {
            if (v[i, b] <= 0) continue
            bx = gx + (b - 1) * barW; by = y(v[i, b]); base = y(lo)
            printf "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %.2f</title></rect>\n", bx, by, barW - 2, base - by, color[b], name[i], label[b], v[i, b]
        }
        printf "<text transform=\"translate(%d,%d) rotate(40)\">%s</text>\n", gx + 4, top + plotH + 14, name[i]
    }
    for (b = 1; b <= 3; b++) {
        lx = left + (b - 1) * 230
        printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", lx, h - 18, color[b], lx + 16, h - 8, label[b]
    }
    print "</svg>"
}' "$md"
