# SPDX-License-Identifier: GPL-2.0-or-later
# host-table.awk: host-bench.sh's raw lines -> the table (medians over the
# rounds; round 0, the warm-up, is left out).  Portable awk (mawk); needs
# stats.awk (awk -f stats.awk -f host-table.awk).

function kv(s,    i, n, a, p) {
	delete F
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) {
		p = index(a[i], "=")
		if (p)
			F[substr(a[i], 1, p - 1)] = substr(a[i], p + 1)
	}
}

function add(key, v) {
	V[key] = push(V[key], v)
}

# the median of one series, by its key ("" when there is none)
function med(key) {
	return median(V[key])
}

function fmt(v, f) {
	return v == "" ? "-" : sprintf(f, v)
}

function ratio(a, b) {
	return (a == "" || b == "" || b == 0) ? "" : a / b
}

function verdict(v, op, t) {
	if (v == "")
		return "not measured"
	if (op == ">=")
		return sprintf("%.2fx (target >= %.1fx): %s", v, t, v >= t ? "MET" : "NOT MET")
	return sprintf("%.2fx (target <= %.1fx): %s", v, t, v <= t ? "MET" : "NOT MET")
}

function human(size) {
	return size >= 1048576 ? size / 1048576 "M" : size / 1024 "K"
}

{
	if ($1 == "R0")
		next
	name = $2
	kv($0)
	if ($3 == "cell") {
		c = F["op"] SUBSEP F["qd"] SUBSEP F["size"]
		if (!(c in CELL)) {
			CELL[c] = 1
			ORDER[++NC] = c
		}
		if ("usecs" in F)
			F["mbps"] = F["bytes"] / F["usecs"]
		add(name SUBSEP c SUBSEP "mbps", F["mbps"])
		if ("iops" in F) {
			add(name SUBSEP c SUBSEP "iops", F["iops"])
			add(name SUBSEP c SUBSEP "p50", F["p50_us"])
			add(name SUBSEP c SUBSEP "p99", F["p99_us"])
		}
		if ((name == "proxy" || name == "base") && F["bytes"] > 0)
			add(name "cpu" SUBSEP c, F["proxy_cpu_s"] / (F["bytes"] / 1073741824))
		if (name == "base")
			HAVE_BASE = 1
	} else if ($3 == "ready" && name == "proxy") {
		if (F["exec_to_ready_ms"] >= 0)
			add("ready", F["exec_to_ready_ms"])
		add("negotiate", F["negotiate_ms"])
		add("datapath", F["datapath_ms"])
		tls = $0
		sub(/.*tls="/, "", tls)
		sub(/".*/, "", tls)
	} else if ($3 == "proxy") {
		add(name "hwm", F["VmHWM_kb"])
		add(name "lck", F["VmLck_kb"])
	} else if ($3 == "wall") {
		add("wall", F["usecs"] / 1000)
	} else if ($3 == "cipher") {
		ceil_name = F["name"]
		ceil = F["gbps"]
	} else if ($3 == "gnutls-cli") {
		cli_gbps = F["gbps"]
	}
}

END {
	print "TLS: " tls " (the proxy and nbdcopy, to the same server)"
	print ""
	printf "%-5s %2s %4s | %8s %8s %8s %8s %8s | %7s %7s | %8s\n", "", "", "", "proxy", "TLS in", "plain", "nbdcopy", "nbdcopy", "proxy/", "proxy/", "proxy"
	printf "%-5s %2s %4s | %8s %8s %8s %8s %8s | %7s %7s | %8s\n", "op", "QD", "size", "TLS", "process", "", "TLS", "plain", "plain", "nbdcopy", "CPU-s/"
	printf "%-5s %2s %4s | %8s %8s %8s %8s %8s | %7s %7s | %8s\n", "", "", "", "MB/s", "MB/s", "MB/s", "MB/s", "MB/s", "", "TLS", "GiB"
	for (i = 1; i <= NC; i++) {
		c = ORDER[i]
		split(c, k, SUBSEP)
		p = med("proxy" SUBSEP c SUBSEP "mbps")
		q = med("plain" SUBSEP c SUBSEP "mbps")
		nt = med("nbdcopy-tls" SUBSEP c SUBSEP "mbps")
		np = med("nbdcopy-plain" SUBSEP c SUBSEP "mbps")
		printf "%-5s %2s %4s | %8s %8s %8s %8s %8s | %7s %7s | %8s\n", k[1], k[2], human(k[3]),
			fmt(p, "%.0f"), fmt(med("inproc" SUBSEP c SUBSEP "mbps"), "%.0f"),
			fmt(q, "%.0f"), fmt(nt, "%.0f"), fmt(np, "%.0f"),
			fmt(ratio(p, q), "%.2fx"), fmt(ratio(p, nt), "%.2fx"),
			fmt(med("proxycpu" SUBSEP c), "%.2f")
	}
	if (HAVE_BASE) {
		print ""
		print "against the baseline build (BENCH_BASELINE), same rounds:"
		printf "%-5s %2s %4s | %8s %8s %7s | %8s %8s\n", "op", "QD", "size", "proxy", "base", "proxy/", "CPU-s/GiB", ""
		printf "%-5s %2s %4s | %8s %8s %7s | %8s %8s\n", "", "", "", "MB/s", "MB/s", "base", "proxy", "base"
		for (i = 1; i <= NC; i++) {
			c = ORDER[i]
			split(c, k, SUBSEP)
			p = med("proxy" SUBSEP c SUBSEP "mbps")
			b = med("base" SUBSEP c SUBSEP "mbps")
			printf "%-5s %2s %4s | %8s %8s %7s | %8s %8s\n", k[1], k[2], human(k[3]),
				fmt(p, "%.0f"), fmt(b, "%.0f"), fmt(ratio(p, b), "%.2fx"),
				fmt(med("proxycpu" SUBSEP c), "%.2f"), fmt(med("basecpu" SUBSEP c), "%.2f")
		}
	}
	print ""
	print "4 KiB IOPS (proxy / TLS in process / plain, and proxy/plain):"
	for (i = 1; i <= NC; i++) {
		c = ORDER[i]
		split(c, k, SUBSEP)
		if (k[3] != 4096)
			continue
		p = med("proxy" SUBSEP c SUBSEP "iops")
		q = med("plain" SUBSEP c SUBSEP "iops")
		printf "  %-5s QD%-2s %7s / %7s / %7s  %s\n", k[1], k[2], fmt(p, "%.0f"),
			fmt(med("inproc" SUBSEP c SUBSEP "iops"), "%.0f"), fmt(q, "%.0f"), fmt(ratio(p, q), "%.2fx")
	}
	print "QD1 4 KiB latency, p50 / p99 in microseconds (proxy | TLS in process | plain | p50 proxy/plain, in process/plain):"
	for (i = 1; i <= NC; i++) {
		c = ORDER[i]
		split(c, k, SUBSEP)
		if (k[3] != 4096 || k[2] != 1)
			continue
		p = med("proxy" SUBSEP c SUBSEP "p50")
		q = med("plain" SUBSEP c SUBSEP "p50")
		LAT[k[1]] = ratio(p, q)
		d = med("inproc" SUBSEP c SUBSEP "p50")
		printf "  %-5s %6s / %6s | %6s / %6s | %6s / %6s | %s, %s\n", k[1], fmt(p, "%.1f"),
			fmt(med("proxy" SUBSEP c SUBSEP "p99"), "%.1f"), fmt(d, "%.1f"),
			fmt(med("inproc" SUBSEP c SUBSEP "p99"), "%.1f"), fmt(q, "%.1f"),
			fmt(med("plain" SUBSEP c SUBSEP "p99"), "%.1f"), fmt(LAT[k[1]], "%.2fx"),
			fmt(ratio(d, q), "%.2fx")
	}
	print ""
	printf "ceiling: GnuTLS %s encrypting 16 KiB records on one core: %s GB/s (gnutls-cli --benchmark-ciphers AES-128-GCM: %s GB/s)\n",
		ceil_name, fmt(ceil, "%.2f"), fmt(cli_gbps, "%.2f")
	printf "cost: proxy peak RSS (VmHWM) %s MiB (with -swap, every page locked up front: %s MiB); locked address space (VmLck) %s MiB\n",
		fmt(med("proxyhwm") / 1024, "%.1f"), fmt(med("swaphwm") / 1024, "%.1f"),
		fmt(med("proxylck") / 1024, "%.1f")
	printf "      exec to ready with TLS (exec, connect, negotiate, handshake, fork the proxy): %s ms (of which negotiation %s, data path %s); %s ms exec to exit\n",
		fmt(med("ready"), "%.1f"), fmt(med("negotiate"), "%.1f"),
		fmt(med("datapath"), "%.1f"), fmt(med("wall"), "%.1f")
	print ""
	print "targets:"
	m8 = "1048576"
	for (op = 0; op < 2; op++) {
		o = op ? "write" : "read"
		c = o SUBSEP 8 SUBSEP m8
		printf "  proxy / nbdcopy TLS, 1M QD8 %-5s %s\n", o, verdict(ratio(med("proxy" SUBSEP c SUBSEP "mbps"), med("nbdcopy-tls" SUBSEP c SUBSEP "mbps")), ">=", 1.0)
	}
	for (op = 0; op < 2; op++) {
		o = op ? "write" : "read"
		c = o SUBSEP 8 SUBSEP m8
		printf "  proxy / plaintext, 1M QD8 %-5s   %s\n", o, verdict(ratio(med("proxy" SUBSEP c SUBSEP "mbps"), med("plain" SUBSEP c SUBSEP "mbps")), ">=", 0.6)
	}
	for (op = 0; op < 2; op++) {
		o = op ? "write" : "read"
		printf "  QD1 4K p50 latency, %-5s         %s\n", o, verdict(LAT[o], "<=", 1.3)
	}
	h = med("proxyhwm")
	printf "  proxy RSS %s MiB (target <= 8): %s\n", fmt(h / 1024, "%.1f"), h == "" ? "not measured" : (h <= 8192 ? "MET" : "NOT MET")
	w = med("ready")
	printf "  exec to ready %s ms (target <= 50): %s\n", fmt(w, "%.1f"), w == "" ? "not measured" : (w <= 50 ? "MET" : "NOT MET")
}
