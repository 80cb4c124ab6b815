// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

/*
 * Standard error is systemd's journal (a unit's process, JOURNAL_STREAM
 * naming that very stream): the journal adds the process's name and pid
 * itself, and takes the priority from a "<N>" prefix.
 */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void nbd_log(const struct nbd_log *l, int prio, const char *fmt, ...)
{
	char msg[NBD_ERR_MAX + 256], line[sizeof(msg) + 128];
	const char *ident = l->ident ? l->ident : "-";
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->to_kmsg && l->kmsg_fd >= 0 && prio <= LOG_NOTICE) {
		n = snprintf(line, sizeof(line), "<%d>nbd-client[%d]: %s: %s: %s\n",
			     LOG_DAEMON | prio, (int)getpid(), ident, l->role,
			     msg);
		if (n > (int)sizeof(line) - 1)
			n = (int)sizeof(line) - 1;
		if (write(l->kmsg_fd, line, (size_t)n) < 0)
			n = 0;	/* nowhere else to say it */
	}
	if (!l->to_stderr) {
		syslog(LOG_DAEMON | prio, "%s: %s: %s", ident, l->role, msg);
		return;
	}
	/* one write per line, so lines from several processes do not mix */
	if (stderr_is_journal())
		n = snprintf(line, sizeof(line), "<%d>%s: %s: %s\n", prio,
			     ident, l->role, msg);
	else
		n = snprintf(line, sizeof(line), "nbd-client[%d]: %s: %s: %s\n",
			     (int)getpid(), ident, l->role, msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

int nbd_mark_io_flusher(void)
{
	return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
}
