// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

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
