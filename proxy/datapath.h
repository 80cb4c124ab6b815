/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data path: how a negotiated session becomes the socket the kernel's
 * nbd driver reads and writes.  Plaintext connections hand over the socket
 * itself; TLS connections go through a forked proxy process (one per
 * connection) that pumps between a socketpair and the TLS session.  A kTLS
 * path will slot in here later without changing the callers.
 */
#ifndef NBDC_DATAPATH_H
#define NBDC_DATAPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "nego.h"

enum datapath_kind {
	DATAPATH_PLAIN,
	DATAPATH_PROXY,
	/* later: DATAPATH_KTLS */
};

struct datapath_opts {
	bool nofork_log_stderr;	/* -n: the proxy logs to stderr, else syslog */
	bool swap;		/* -s: swap on it; the proxy must be mlocked */
	const char *ident;	/* for log lines, e.g. "nbd0"; may be NULL */
};

struct datapath {
	enum datapath_kind kind;
	int kernel_fd;		/* what NBD_SET_SOCK / NBD_SOCK_FD gets */
	pid_t proxy_pid;	/* DATAPATH_PROXY only, else -1 */
};

/*
 * Turn a negotiated session into the fd the kernel gets.  Plaintext: the
 * socket itself, made blocking again.  TLS: a socketpair, with a proxy
 * process on the other end; datapath_open returns once the proxy is set up
 * (or with its set-up error).  The proxy always tries mlockall and
 * oom_score_adj -1000; a failure is logged, and only a failed mlockall with
 * o->swap is fatal.  On success the session's conn no longer owns a socket
 * or TLS state (nego_close(s) is still needed for the rest); on failure s is
 * untouched.
 */
int datapath_open(struct nbd_session *s, const struct datapath_opts *o,
		  struct datapath *dp, struct nbd_err *e);
/* After the kernel holds kernel_fd: close our copy. */
void datapath_handed_over(struct datapath *dp);
/*
 * Close our copy of kernel_fd if still held (the proxy then sees EOF, sends
 * close_notify and exits), and wait for the proxy to exit.  *status (may be
 * NULL) gets its exit code: 0 clean, 1 error, 128+N killed by signal N;
 * always 0 for DATAPATH_PLAIN.  Returns -1 with errno set if waitpid fails.
 */
int datapath_wait(struct datapath *dp, int *status);

#endif
