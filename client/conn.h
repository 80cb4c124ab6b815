/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One connection to a server during negotiation: a socket, optionally
 * wrapped in a GnuTLS session.  Every wait is bounded by a deadline: the
 * current operation's (connect with name resolution, greeting, one option
 * exchange, the TLS handshake: timeout_ms each), never later than the whole
 * negotiation's.  A server that drips bytes cannot stretch either.  A stop
 * request (stop_fd readable: SIGTERM to a resident process) ends any wait.
 */
#ifndef NBDC_CONN_H
#define NBDC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>

#include "config.h"
#include "deadline.h"
#include "err.h"

/* Where a connection last went: the fallback when the name no longer
 * resolves. */
struct conn_addr {
	struct sockaddr_storage sa;
	socklen_t len;		/* 0: none yet */
};

struct nbd_conn {
	int fd;
	gnutls_session_t tls;	/* NULL while plaintext */
	bool tls_ready;		/* handshake done: records may be sent */
	int timeout_ms;		/* per operation; -1 = no deadline */
	struct deadline op;	/* the current operation's */
	struct deadline all;	/* the whole negotiation's */
	int stop_fd;		/* readable = stop now; -1 = none */
	bool stopped;		/* a wait ended because of stop_fd or gone */
	/* Asked every NBD_GONE_CHECK_MS while waiting: nonzero = what this
	 * connection was for is gone (the device was disconnected). */
	int (*gone)(void *arg);
	void *gone_arg;
	struct conn_addr *remember;	/* may be NULL */
	char *peer;		/* "host:port" or socket path, for messages */
	bool tls_data;		/* data came over TLS (the server took us) */
	/* the server refused our TLS credentials: the error says all, it
	 * gets no "sending/waiting for ..." prefix */
	bool tls_refused;
};

#define NBD_DEFAULT_TIMEOUT_MS 30000
/* The whole negotiation may take this many operation timeouts. */
#define NBD_NEGOTIATION_TIMEOUTS 3
#define NBD_GONE_CHECK_MS 500
/* Saying goodbye (NBD_OPT_ABORT, NBD_CMD_DISC) never waits longer. */
#define NBD_GOODBYE_TIMEOUT_MS 1000

void conn_init(struct nbd_conn *c, int timeout_ms);
/* Start the whole negotiation's deadline (NBD_NEGOTIATION_TIMEOUTS). */
void conn_begin_negotiation(struct nbd_conn *c);
/* Start one operation: its deadline is timeout_ms from now, or ms when
 * ms >= 0, and never later than the negotiation's. */
void conn_begin_op(struct nbd_conn *c, int ms);
/* Connect to cfg's TCP host/port or Unix socket.  Leaves fd non-blocking. */
int conn_connect(struct nbd_conn *c, const struct nbd_config *cfg,
		 struct nbd_err *e);
/* Read/write exactly len bytes (through TLS once it is on). */
int conn_read(struct nbd_conn *c, void *buf, size_t len, struct nbd_err *e);
int conn_write(struct nbd_conn *c, const void *buf, size_t len,
	       struct nbd_err *e);
/* Wait until fd is readable/writable, the deadline passes or stop_fd
 * fires. */
int conn_wait(struct nbd_conn *c, short events, struct nbd_err *e);
/* Send close_notify (if TLS) and close everything. */
void conn_close(struct nbd_conn *c);
/* Forget the session and socket without touching them (after handover). */
void conn_release(struct nbd_conn *c);

#endif
