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

#include "config.h"
#include "conn.h"
#include "err.h"

enum datapath_kind {
	DATAPATH_PLAIN,
	DATAPATH_PROXY,
	DATAPATH_KTLS,		/* the socket itself, carrying kernel TLS */
};

struct datapath_opts {
	bool nofork_log_stderr;	/* -n: the proxy logs to stderr, else syslog */
	bool swap;		/* -s: swap on it; the proxy must be mlocked */
	const char *ident;	/* for log lines, e.g. "nbd0"; may be NULL */
	int null_fd;		/* /dev/null, opened beforehand; -1: open it
				 * (a resident process must not need paths) */
	enum ktls_mode ktls;	/* TLS: kernel TLS (on), the proxy (off), or
				 * kernel TLS where it can (auto) */
	bool no_sandbox;	/* --sandbox=off: the proxy keeps root */
};

struct datapath {
	enum datapath_kind kind;
	int kernel_fd;		/* what NBD_SET_SOCK / NBD_SOCK_FD gets, until
				 * handed over; -1 after */
	int watch_fd;		/* after hand-over: our copy of the kernel's
				 * socket, to poll (datapath_watch_events);
				 * -1 = none */
	pid_t proxy_pid;	/* DATAPATH_PROXY only, else -1 */
	int report_fd;		/* DATAPATH_PROXY: what the proxy's sandbox
				 * reports (sandbox.h), else -1 */
	char sandbox_call[32];	/* after datapath_close: the call the proxy's
				 * sandbox stopped it for, else "" */
	char tls_desc[64];	/* TLS: "TLS1.3, AES-128-GCM", else "" */
	char no_ktls[NBD_ERR_MAX]; /* auto, and the proxy it is: why */
};

/* How long a new proxy may take to say it is ready. */
#define DATAPATH_READY_TIMEOUT_MS 10000

/*
 * Turn a negotiated connection into the fd the kernel gets.  Plaintext: the
 * socket itself, made blocking again.  TLS with kernel TLS (o->ktls on, or
 * auto and the kernel can): the socket itself, its keys handed to the
 * kernel; with auto, when the kernel cannot, dp->no_ktls says why and the
 * proxy is used.  Otherwise TLS means a socketpair, with a proxy
 * process (our child) on the other end; datapath_open returns once the
 * proxy is set up (or with its set-up error, or after
 * DATAPATH_READY_TIMEOUT_MS, or when c->stop_fd fires).  The proxy always
 * tries mlockall and oom_score_adj -1000; a failure is logged, and only a
 * failed mlockall with o->swap is fatal.  On success c no longer owns a
 * socket or TLS state; on failure c is untouched.
 */
int datapath_open(struct nbd_conn *c, const struct datapath_opts *o,
		  struct datapath *dp, struct nbd_err *e);
/* After the kernel holds kernel_fd: keep our copy to watch it. */
void datapath_handed_over(struct datapath *dp);
/* The events to poll watch_fd for; any of them, or POLLHUP/POLLERR, means
 * the kernel's socket was shut down or its peer is gone: the link died,
 * plaintext and TLS alike. */
short datapath_watch_events(const struct datapath *dp);
/* 1 alive, 0 dead.  Asks the data path itself, never a pid number. */
int datapath_alive(const struct datapath *dp);
/*
 * Close everything we hold (the proxy then sees EOF, sends close_notify and
 * exits) and reap the proxy: wait for it if it was never handed over, else
 * only if it has already exited.  *status (may be NULL) gets its exit code:
 * 0 clean, 1 error, 128+N killed by signal N, -1 still running; 0 for
 * DATAPATH_PLAIN.  dp->sandbox_call names the system call the proxy's
 * sandbox stopped it for, if it did.
 */
void datapath_close(struct datapath *dp, int *status);
/* "plaintext", "TLS proxy" or "kernel TLS". */
const char *datapath_kind_name(enum datapath_kind k);

#endif
