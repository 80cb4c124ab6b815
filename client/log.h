/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the processes that outlive the command (monitor, proxy):
 * syslog, or stderr with -nofork.  The command itself never logs: its
 * errors travel up to main.
 */
#ifndef NBDC_LOG_H
#define NBDC_LOG_H

#include <stdbool.h>
#include <syslog.h>

struct nbd_log {
	bool to_stderr;
	/* also the kernel log (/dev/kmsg, opened beforehand), for notices and
	 * worse: after switch_root a root device's resident process has no
	 * /dev/log, and its messages would be lost */
	bool to_kmsg;
	int kmsg_fd;
	const char *ident;	/* "nbd0"; may be NULL */
	const char *role;	/* "monitor", "proxy" */
};

void nbd_log(const struct nbd_log *l, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Mark the calling process as one the kernel's writeback waits on
 * (PR_SET_IO_FLUSHER): its allocations then never recurse into that
 * writeback.  -1 with errno set on failure (needs CAP_SYS_RESOURCE).
 */
int nbd_mark_io_flusher(void);

#endif
