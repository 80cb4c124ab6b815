# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/stats.awk: what the benchmark tables share (portable awk,
# mawk too; load it first: awk -f stats.awk -f TABLE.awk).  A series is
# its values in one string, separated by spaces ("" when empty).

# push(s, v): s with v appended
function push(s, v) {
	return s == "" ? v "" : s " " v
}

# median(s): the median of the series, "" for none
function median(s,    a, n, i, j, t) {
	n = split(s, a, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}

# minmax(s): "lo-hi" (or the one value), two decimals
function minmax(s,    a, n, i, lo, hi) {
	n = split(s, a, " ")
	lo = hi = a[1] + 0
	for (i = 2; i <= n; i++) {
		if (a[i] + 0 < lo) lo = a[i] + 0
		if (a[i] + 0 > hi) hi = a[i] + 0
	}
	return sprintf(n > 1 ? "%.2f-%.2f" : "%.2f", lo, hi)
}
