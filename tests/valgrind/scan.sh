#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/valgrind/scan.sh LOGDIR: fail if any valgrind log in LOGDIR is not
# empty (valgrind runs with -q: a log holds only errors and leaks).  This
# catches the processes that outlive the command (the resident process,
# TLS proxies), whose exit status no test sees.
dir=$1
n=$(find "$dir" -name '*.log' | wc -l)
bad=$(find "$dir" -name '*.log' -size +0 | sort)
if [ -z "$bad" ]; then
	echo "valgrind: $n processes, no errors, no definite or indirect leaks"
	exit 0
fi
echo "valgrind: errors in $(wc -l <<<"$bad") of $n processes:" >&2
for f in $bad; do
	echo "--- $f" >&2
	head -n 60 "$f" >&2
done
exit 1
