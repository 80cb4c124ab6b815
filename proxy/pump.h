/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS proxy's byte pump: plaintext from the kernel's end of a socketpair
 * goes into a GnuTLS session, and what the server sends comes back out.
 * One poll() loop, four 256 KiB buffers (each direction's plaintext, and the
 * TLS records in and out), no timeouts while both sides are
 * open.  Used by the proxy process (datapath.c) and the unit tests.
 */
#ifndef NBDC_PUMP_H
#define NBDC_PUMP_H

#include <gnutls/gnutls.h>

#include "err.h"

/* Size of each direction's buffer (a multiple of the 16 KiB TLS record). */
#define PUMP_BUF_SIZE (256 * 1024)
/* Once one side has closed: how long flushing the other, and close_notify,
 * may take before we give up on it. */
#define PUMP_CLOSE_TIMEOUT_MS 10000

struct pump_stats {
	unsigned long long to_server;	/* plaintext bytes GnuTLS accepted */
	unsigned long long to_kernel;	/* bytes written to plain_fd */
};

/*
 * Pump until one side closes.  s is a handshaken session whose transport is
 * net_fd; plain_fd is a stream socket.  Both fds are made non-blocking; the
 * caller still owns them (and s) afterwards.  Writes to plain_fd use
 * MSG_NOSIGNAL; s should have GNUTLS_NO_SIGNAL, or SIGPIPE be ignored.
 *
 * - plain_fd EOF (or the kernel's end vanished): flush what is buffered to
 *   the server, send close_notify, return 0.
 * - the server sent close_notify: flush to plain_fd, shutdown(plain_fd,
 *   SHUT_WR), answer with our close_notify, return 0.
 * - the server closed without close_notify, or any TLS or socket error:
 *   flush what was decrypted, shutdown(plain_fd, SHUT_WR), return -1 with e
 *   set.
 * st (may be NULL) counts the bytes moved either way, also on failure.
 */
int pump_run(gnutls_session_t s, int net_fd, int plain_fd,
	     struct pump_stats *st, struct nbd_err *e);

#endif
