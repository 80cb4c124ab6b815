# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/table.awk: the table of vm-bench.sh from its BENCH lines
#   cfg op round secs mib ops user sys idle proc nbdkit busy
# (ticks of 1/hz s; round 0 is the warm-up and is left out).  busy is the
# whole guest (exact), rest = busy - proc - nbdkit: the reader/writer (dd,
# randread), the kernel's nbd and TCP work and, with kTLS, the client's
# crypto; user and sys come from /proc/stat, which loses ticks under TCG.
# Lines "ATTACH cfg secs" are the timed attaches.  Variables: hz, target
# (the kTLS/proxy ratio to report against), reftarget (ours over the
# reference).  Needs stats.awk (awk -f stats.awk -f table.awk).

function add(k, v) { vals[k] = push(vals[k], v) }
function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2fx", a / b) : "-" }

$1 == "ATTACH" {
	attach[$2] = push(attach[$2], $3)
	next
}

$3 > 0 && $4 > 0 && $5 > 0 {
	k = $1 SUBSEP $2
	gib = $5 / 1024
	add(k SUBSEP "thr", $2 == "rand4k" ? $6 / $4 : $5 / $4)
	add(k SUBSEP "user", $7 / hz / gib)
	add(k SUBSEP "sys", $8 / hz / gib)
	add(k SUBSEP "proc", $10 / hz / gib)
	add(k SUBSEP "srv", $11 / hz / gib)
	add(k SUBSEP "busy", $12 / hz / gib)
	add(k SUBSEP "rest", ($12 - $10 - $11) / hz / gib)
	n[k]++
	thr[$1, $2, $3] = $2 == "rand4k" ? $6 / $4 : $5 / $4
	rounds[$3] = 1
}

# paired(A, B, OP): the median over the rounds of A/B within each round (the
# two ran one after the other, so slow drifts of the host's load cancel)
function paired(a, b, op,    r, s) {
	s = ""
	for (r in rounds)
		if ((a, op, r) in thr && (b, op, r) in thr && thr[b, op, r] > 0)
			s = s " " thr[a, op, r] / thr[b, op, r]
	return s
}

END {
	split("ktls proxy ref plain", cfgs, " ")
	split("write read rand4k", ops, " ")
	name["ktls"] = "ours --ktls=on (kernel TLS)"
	name["proxy"] = "ours --ktls=off (proxy)"
	name["ref"] = "nbd-client 3.24, TLS"
	name["plain"] = "ours, plaintext"
	printf "%-28s %-6s %8s %-5s %-13s %2s | %7s %7s %7s %7s | %-15s\n", "", "", "median", "", "(min-max)", "n",
		"guest", "TLS", "nbdkit", "rest", "/proc/stat", "(lossy)"
	printf "%-28s %-6s %8s %-5s %-13s %2s | %7s %7s %7s %7s | %7s %7s\n", "client", "op", "", "unit", "", "",
		"busy", "process", "server", "", "user", "sys+irq"
	printf "%-28s %-6s %8s %-5s %-13s %2s | %-47s\n", "", "", "", "", "", "", "CPU seconds per GiB moved (medians)"
	for (i = 1; i <= 3; i++) {
		for (c = 1; c <= 4; c++) {
			k = cfgs[c] SUBSEP ops[i]
			if (!(k in n))
				continue
			m[k] = median(vals[k SUBSEP "thr"])
			printf "%-28s %-6s %8.2f %-5s %-13s %2d | %7.1f %7s %7.1f %7.1f | %7.1f %7.1f\n",
				name[cfgs[c]], ops[i], m[k], ops[i] == "rand4k" ? "IOPS" : "MiB/s",
				"(" minmax(vals[k SUBSEP "thr"]) ")", n[k],
				median(vals[k SUBSEP "busy"]),
				cfgs[c] == "proxy" || cfgs[c] == "ref" ? sprintf("%.1f", median(vals[k SUBSEP "proc"])) : "-",
				median(vals[k SUBSEP "srv"]), median(vals[k SUBSEP "rest"]),
				median(vals[k SUBSEP "user"]), median(vals[k SUBSEP "sys"])
		}
	}
	print ""
	printf "%-36s %8s %8s %8s\n", "throughput ratio (medians)", "write", "read", "rand4k"
	split("ktls:proxy ktls:ref proxy:ref ktls:plain proxy:plain", rs, " ")
	for (r = 1; r <= 5; r++) {
		split(rs[r], ab, ":")
		printf "%-36s", ab[1] "/" ab[2] (rs[r] == "ktls:proxy" ? "   (target >= " target "x)" : "")
		for (i = 1; i <= 3; i++)
			printf " %8s", ratio(m[ab[1] SUBSEP ops[i]], m[ab[2] SUBSEP ops[i]])
		print ""
	}
	split("ktls:proxy proxy:ref ktls:ref", ps, " ")
	for (r = 1; r <= 3; r++) {
		split(ps[r], ab, ":")
		printf "%-36s", ab[1] "/" ab[2] " paired per round (median)"
		for (i = 1; i <= 3; i++) {
			pr = paired(ab[1], ab[2], ops[i])
			printf " %8s", pr == "" ? "-" : sprintf("%.2fx", median(pr))
		}
		print ""
		printf "%-36s", "  (min-max)"
		for (i = 1; i <= 3; i++) {
			pr = paired(ab[1], ab[2], ops[i])
			printf " %9s", pr == "" ? "-" : minmax(pr)
		}
		print ""
	}
	print ""
	for (i = 1; i <= 2; i++) {
		kp = "proxy" SUBSEP ops[i]
		kk = "ktls" SUBSEP ops[i]
		if (!(kp in n) || !(kk in n))
			continue
		pp = median(vals[kp SUBSEP "proc"])
		pr = median(vals[kp SUBSEP "rest"]); kr = median(vals[kk SUBSEP "rest"])
		pb = median(vals[kp SUBSEP "busy"]); kb = median(vals[kk SUBSEP "busy"])
		printf "%s: the proxy process spends %.1f CPU-s/GiB, which kTLS removes from userspace; the rest of the client side (dd, kernel; with kTLS its crypto) %.1f -> %.1f (%+.1f); whole guest %.1f -> %.1f CPU-s/GiB (%+.1f)\n",
			ops[i], pp, pr, kr, kr - pr, pb, kb, kb - pb
	}
	print ""
	for (i = 1; i <= 3; i++) {
		kp = "proxy" SUBSEP ops[i]
		kk = "ktls" SUBSEP ops[i]
		if (!(kp in n) || !(kk in n) || m[kp] <= 0)
			continue
		x = m[kk] / m[kp]
		y = median(paired("ktls", "proxy", ops[i]))
		printf "target kTLS >= %sx proxy, %-6s: %.2fx (ratio of medians) %s, %.2fx (paired) %s\n",
			target, ops[i], x, (x >= target ? "MET" : "NOT MET"), y, (y >= target ? "MET" : "NOT MET")
	}
	# ours over TLS (the faster of our two paths) against the reference
	for (i = 1; i <= 3; i++) {
		kr = "ref" SUBSEP ops[i]
		if (!(kr in n) || m[kr] <= 0)
			continue
		best = "proxy"
		if (("ktls" SUBSEP ops[i]) in n && m["ktls" SUBSEP ops[i]] > m["proxy" SUBSEP ops[i]])
			best = "ktls"
		x = m[best SUBSEP ops[i]] / m[kr]
		y = median(paired(best, "ref", ops[i]))
		printf "target ours over TLS >= %sx the reference, %-6s: %s %.2fx (ratio of medians) %s, %.2fx (paired) %s\n",
			reftarget, ops[i], best, x, (x >= reftarget ? "MET" : "NOT MET"), y, (y >= reftarget ? "MET" : "NOT MET")
	}
	if (!(("ktls" in attach) || ("proxy" in attach) || ("ref" in attach) || ("plain" in attach)))
		exit
	print ""
	print "exec to a ready device (connect, negotiate, TLS, attach; medians of 3, /proc/uptime's 10 ms steps; TCG, so compare, do not read as real times):"
	for (c = 1; c <= 4; c++) {
		am[cfgs[c]] = median(attach[cfgs[c]])
		printf "  %-6s %s s\n", cfgs[c], am[cfgs[c]] == "" ? "-" : sprintf("%.2f", am[cfgs[c]])
	}
	if (am["ref"] > 0 && am["proxy"] > 0 && am["ktls"] > 0)
		printf "  ref/proxy %.2fx, ref/ktls %.2fx (above 1: ours is ready sooner)\n", am["ref"] / am["proxy"], am["ref"] / am["ktls"]
}
