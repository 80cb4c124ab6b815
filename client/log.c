// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void nbd_log(const struct nbd_log *l, int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->to_stderr)
		fprintf(stderr, "nbd-client: %s: %s: %s\n",
			l->ident ? l->ident : "-", l->role, msg);
	else
		syslog(LOG_DAEMON | prio, "%s: %s: %s", l->ident ? l->ident : "-",
		       l->role, msg);
}
