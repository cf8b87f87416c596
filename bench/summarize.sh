#!/usr/bin/env bash
# Summarizes bench/run.sh's CSV into Markdown: a compact ratio table, the target check, and the detailed table.
# Usage: bench/summarize.sh results.csv
set -euo pipefail
csv="${1:?usage: summarize.sh results.csv}"

awk -F, '
function median(s,    a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(arr, k, v) { arr[k] = (k in arr) ? arr[k] " " v : v }
NR == 1 { next }
{
    img = $1; round = $6; tool = $7; st = $8; mode = $9; count = $10
    if (!(img in seen)) { seen[img] = 1; imgs[++ni] = img; snaps[img] = $4 }
    key = img SUBSEP tool SUBSEP st SUBSEP mode
    if (!(key in kseen)) { kseen[key] = 1; keys[++nk] = key }
    if (round == 0) next
    us = $11 * 1e6 / count
    perus[img, tool, st, mode, round] = us
    cnt[key] = count
    add(usl, key, us)
    if ($13 != "") add(rss, key, $13 / 1024)
    if ($14 != "") add(open, key, $14 * 1000)
    else if ($12 != "") add(open, key, ($12 - $11) * 1000)
    if ($15 != "") { add(lb, key, $15); lim[key] = $16 }
    rounds[img, tool, st, mode] = rounds[img, tool, st, mode] " " round
}
END {
    for (i = 1; i <= nk; i++) {
        split(keys[i], p, SUBSEP)
        base = (p[2] == "qimg") ? "list" : "scan"
        n = split(rounds[p[1], p[2], p[3], p[4]], rs, " ")
        s = ""
        for (j = 1; j <= n; j++) {
            b = perus[p[1], p[2], base, "none", rs[j]]
            if (b > 0) s = s " " perus[p[1], p[2], p[3], p[4], rs[j]] / b
        }
        ratio[keys[i]] = median(s)
    }

    print "Ratio of each mode to `none` (same tool, same round; median over rounds):"
    print ""
    print "| image | snapshots | qimg list cached | qimg list all | qimg list all, limited | qimg scan cached | qimg scan all | qemu-img cached | qemu-img all |"
    print "|---|---|---|---|---|---|---|---|---|"
    worst = 0; worstimg = ""
    for (i = 1; i <= ni; i++) {
        m = imgs[i]
        row = "| " m " | " snaps[m]
        split("qimg,list,cached qimg,list,all qimg,limited,all qimg,scan,cached qimg,scan,all qemu-img,scan,cached qemu-img,scan,all", cols, " ")
        for (c = 1; c <= 7; c++) {
            split(cols[c], q, ",")
            k = m SUBSEP q[1] SUBSEP q[2] SUBSEP q[3]
            row = row " | " ((k in ratio && ratio[k] != "") ? sprintf("%.2f", ratio[k]) : "-")
        }
        print row " |"
        k = m SUBSEP "qimg" SUBSEP "list" SUBSEP "all"
        if (k in ratio && ratio[k] + 0 > worst) { worst = ratio[k] + 0; worstimg = m }
    }
    print ""
    verdict = (worst <= 1.10) ? "PASS" : "FAIL"
    printf "Target (metadata list: `all` <= 1.10 x `none` at every size and snapshot count): **%s** (highest ratio %.2f, %s).\n", verdict, worst, worstimg
    over = 0; nlim = 0; frac = 0
    for (i = 1; i <= nk; i++) {
        split(keys[i], p, SUBSEP)
        if (p[3] != "limited" || !(keys[i] in lb)) continue
        n = split(lb[keys[i]], v, " ")
        for (j = 1; j <= n; j++) {
            nlim++
            if (v[j] + 0 > lim[keys[i]] + 0) over++
            if (v[j] / lim[keys[i]] > frac) frac = v[j] / lim[keys[i]]
        }
    }
    if (nlim > 0) printf "total-size-limit: metadata list usage within the limit in %d of %d limited runs (highest usage %.0f%% of the limit): **%s**.\n", nlim - over, nlim, frac * 100, over ? "EXCEEDED" : "respected"
    print ""
    print "Details (medians over rounds; open = time to open the image inside qimg, which reads every snapshot L1 table for the"
    print "list; for qemu-img it is process wall time minus the timed run, i.e. start, open and close):"
    print ""
    print "| image | tool | structures | mode | writes/run | us/write | ratio vs none | peak RSS MiB | open ms | list bytes (limit) |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nk; i++) {
        k = keys[i]; split(k, p, SUBSEP)
        if (!(k in usl)) continue
        lbs = (k in lb) ? sprintf("%d (%s)", median(lb[k]), lim[k]) : "-"
        printf "| %s | %s | %s | %s | %d | %.2f | %.2f | %s | %s | %s |\n", p[1], p[2], p[3], p[4], cnt[k], median(usl[k]), ratio[k],
            (k in rss) ? sprintf("%.1f", median(rss[k])) : "-", (k in open) ? sprintf("%.1f", median(open[k])) : "-", lbs
    }
}' "$csv"
