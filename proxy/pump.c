// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The byte pump between the kernel's Unix socket ("plain") and the TLS
 * session to the server ("net").
 *
 *   plain --recv--> up ring --gnutls_record_send--> net
 *   plain <--send-- down ring <--gnutls_record_recv-- net
 *
 * Each step runs only when poll() said its fd is ready (or, for the TLS read,
 * when GnuTLS already holds decrypted bytes), and a side is not read while
 * the ring it fills is full: that is the backpressure.  A record_send that
 * returned GNUTLS_E_AGAIN is retried with exactly the same pointer and length
 * (the bytes stay in the ring until GnuTLS accepted them).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pump.h"

#define TLS_RECORD_MAX 16384

struct ring {
	char *buf;
	size_t head;		/* first stored byte */
	size_t len;		/* bytes stored */
};

struct pump {
	gnutls_session_t s;
	int net, plain;
	struct ring up;		/* kernel -> server */
	struct ring down;	/* server -> kernel */
	size_t send_len;	/* record_send to repeat after E_AGAIN, or 0 */
	bool plain_eof;		/* nothing more to read from the kernel */
	bool plain_dead;	/* the kernel's end is gone: drop what we get */
	bool net_done;		/* nothing more from the server */
	int net_result;		/* 0: close_notify; -1: error set in e */
	bool plain_rd, net_rd;	/* poll said readable */
	bool plain_wblk;	/* send to plain returned EAGAIN */
	bool net_wblk;		/* record_send returned E_AGAIN */
	bool recv_wants_out;	/* record_recv stalled on a write */
	long long deadline_ms;	/* once one side closed; 0 = none */
	struct pump_stats *st;
	struct nbd_err *e;
};

/* ---- ring helpers ---- */

static size_t ring_space(const struct ring *r)
{
	return PUMP_BUF_SIZE - r->len;
}

static char *ring_rd_ptr(const struct ring *r)
{
	return r->buf + r->head;
}

static size_t ring_rd_len(const struct ring *r)
{
	size_t end = PUMP_BUF_SIZE - r->head;

	return r->len < end ? r->len : end;
}

static char *ring_wr_ptr(const struct ring *r)
{
	return r->buf + (r->head + r->len) % PUMP_BUF_SIZE;
}

static size_t ring_wr_len(const struct ring *r)
{
	size_t tail = (r->head + r->len) % PUMP_BUF_SIZE;
	size_t end = PUMP_BUF_SIZE - tail;

	return ring_space(r) < end ? ring_space(r) : end;
}

static void ring_consume(struct ring *r, size_t n)
{
	r->head = (r->head + n) % PUMP_BUF_SIZE;
	r->len -= n;
	if (!r->len)
		r->head = 0;
}

/* ---- time ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start_closing(struct pump *p)
{
	if (!p->deadline_ms)
		p->deadline_ms = now_ms() + PUMP_CLOSE_TIMEOUT_MS;
}

static int ms_left(const struct pump *p)
{
	long long left;

	if (!p->deadline_ms)
		return -1;
	left = p->deadline_ms - now_ms();
	return left < 0 ? 0 : (int)left;
}

/* ---- the kernel side ---- */

static void plain_gone(struct pump *p)
{
	p->plain_eof = true;
	p->plain_dead = true;
	p->down.len = 0;
	p->down.head = 0;
	start_closing(p);
}

static int plain_read(struct pump *p)
{
	ssize_t n;
	size_t want;

	while (!p->plain_eof && ring_space(&p->up)) {
		want = ring_wr_len(&p->up);
		n = recv(p->plain, ring_wr_ptr(&p->up), want, 0);
		if (n > 0) {
			p->up.len += (size_t)n;
			if ((size_t)n < want)
				break;	/* drained; poll before asking again */
			continue;
		}
		if (n == 0) {
			p->plain_eof = true;
			start_closing(p);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == ECONNRESET) {
			plain_gone(p);
			break;
		}
		return err_errno(p->e, errno, "cannot read from the kernel's socket");
	}
	return 0;
}

static int plain_write(struct pump *p)
{
	ssize_t n;

	while (!p->plain_wblk && p->down.len && !p->plain_dead) {
		n = send(p->plain, ring_rd_ptr(&p->down), ring_rd_len(&p->down),
			 MSG_NOSIGNAL);
		if (n > 0) {
			ring_consume(&p->down, (size_t)n);
			if (p->st)
				p->st->to_kernel += (unsigned long long)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			p->plain_wblk = true;
			break;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			plain_gone(p);
			break;
		}
		return err_errno(p->e, n < 0 ? errno : EIO,
				 "cannot write to the kernel's socket");
	}
	return 0;
}

/* ---- the server side ---- */

static void net_failed(struct pump *p, int r, const char *what)
{
	int saved = errno;	/* the socket's, for a pull or push error */

	p->net_done = true;
	p->net_result = -1;
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		err_set(p->e, "the server closed the TLS connection without close_notify");
	else if ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
		 saved && saved != EAGAIN)
		/* "Connection reset by peer", "Broken pipe": say which */
		err_set(p->e, "TLS %s the server failed: %s", what,
			strerror(saved));
	else
		err_set(p->e, "TLS %s the server failed: %s", what,
			gnutls_strerror(r));
	start_closing(p);
}

static void tls_send(struct pump *p)
{
	ssize_t r;
	size_t len;

	while (!p->net_wblk && !p->net_done && (p->send_len || p->up.len)) {
		len = p->send_len;
		if (!len) {
			len = ring_rd_len(&p->up);
			if (len > TLS_RECORD_MAX)
				len = TLS_RECORD_MAX;
		}
		/* after E_AGAIN: the very same pointer and length again */
		r = gnutls_record_send(p->s, ring_rd_ptr(&p->up), len);
		if (r > 0) {
			p->send_len = 0;
			ring_consume(&p->up, (size_t)r);
			if (p->st)
				p->st->to_server += (unsigned long long)r;
			continue;
		}
		p->send_len = len;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			p->net_wblk = true;
			break;
		}
		net_failed(p, r ? (int)r : GNUTLS_E_INTERNAL_ERROR,
			   "write to");
	}
}

static void tls_recv(struct pump *p)
{
	ssize_t r;

	p->recv_wants_out = false;
	while (!p->net_done && ring_space(&p->down)) {
		r = gnutls_record_recv(p->s, ring_wr_ptr(&p->down),
				       ring_wr_len(&p->down));
		if (r > 0) {
			p->down.len += (size_t)r;
			continue;
		}
		if (r == 0) {
			p->net_done = true;	/* close_notify */
			start_closing(p);
			break;
		}
		if (r == GNUTLS_E_AGAIN) {
			p->recv_wants_out = gnutls_record_get_direction(p->s);
			break;
		}
		/* interrupted, or a warning alert / renegotiation request
		 * that we ignore */
		if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)r))
			continue;
		net_failed(p, (int)r, "read from");
	}
	if (p->plain_dead) {
		p->down.len = 0;
		p->down.head = 0;
	}
}

/* ---- the loop ---- */

static bool want_tls_recv(const struct pump *p)
{
	return !p->net_done && ring_space(&p->down) &&
	       (p->net_rd || gnutls_record_check_pending(p->s) > 0);
}

static int wait_ready(struct pump *p)
{
	struct pollfd fds[2] = { { .fd = p->plain }, { .fd = p->net } };
	int timeout = ms_left(p), r;

	if (!p->plain_eof && ring_space(&p->up))
		fds[0].events |= POLLIN;
	if (p->plain_wblk)
		fds[0].events |= POLLOUT;
	if (!p->net_done && ring_space(&p->down)) {
		if (gnutls_record_check_pending(p->s) > 0)
			timeout = 0;
		fds[1].events |= POLLIN;
	}
	if (!p->net_done && (p->net_wblk || p->recv_wants_out))
		fds[1].events |= POLLOUT;
	/* nothing asked: ignore the fd, or POLLHUP would spin */
	if (!fds[0].events)
		fds[0].fd = -1;
	if (!fds[1].events)
		fds[1].fd = -1;

	r = poll(fds, 2, timeout);
	if (r < 0 && errno != EINTR)
		return err_errno(p->e, errno, "poll");
	if (r < 0)
		return 0;
	if (r == 0 && p->deadline_ms && ms_left(p) == 0)
		return 1;
	p->plain_rd = fds[0].revents & (POLLIN | POLLHUP | POLLERR);
	if (fds[0].revents & (POLLOUT | POLLHUP | POLLERR))
		p->plain_wblk = false;
	p->net_rd = fds[1].revents & (POLLIN | POLLHUP | POLLERR);
	if (fds[1].revents & (POLLOUT | POLLHUP | POLLERR)) {
		p->net_wblk = false;
		if (p->recv_wants_out)
			p->net_rd = true;
	}
	return 0;
}

/* Send our close_notify, waiting at most until the deadline. */
static void say_bye(struct pump *p)
{
	struct pollfd pfd = { .fd = p->net };
	int r;

	for (;;) {
		r = gnutls_bye(p->s, GNUTLS_SHUT_WR);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r != GNUTLS_E_AGAIN)
			break;	/* sent, or the server is gone: both fine */
		pfd.events = gnutls_record_get_direction(p->s) ? POLLOUT
							       : POLLIN;
		r = poll(&pfd, 1, ms_left(p));
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
}

/* The kernel closed and everything reached GnuTLS: say goodbye. */
static int finish_to_server(struct pump *p)
{
	say_bye(p);
	return 0;
}

/*
 * The server is done: the kernel got all we decrypted, now it gets EOF.
 * A clean close_notify is answered with ours (TLS 1.2 requires it).
 */
static int finish_to_kernel(struct pump *p)
{
	shutdown(p->plain, SHUT_WR);
	if (p->net_result == 0)
		say_bye(p);
	return p->net_result;
}

static int timed_out(struct pump *p)
{
	if (p->net_done) {
		shutdown(p->plain, SHUT_WR);
		if (p->net_result < 0)
			return -1;
		return err_set(p->e, "timed out after %d s passing the server's last %zu bytes to the kernel",
			       PUMP_CLOSE_TIMEOUT_MS / 1000, p->down.len);
	}
	return err_set(p->e, "timed out after %d s sending the last %zu bytes to the server after the kernel closed its socket",
		       PUMP_CLOSE_TIMEOUT_MS / 1000,
		       p->up.len);
}

static int pump_loop(struct pump *p)
{
	int r;

	for (;;) {
		if (p->net_done && (!p->down.len || p->plain_dead))
			return finish_to_kernel(p);
		if (p->plain_eof && !p->up.len && !p->send_len)
			return finish_to_server(p);
		r = wait_ready(p);
		if (r < 0)
			return -1;
		if (r > 0)
			return timed_out(p);
		if (p->plain_rd && plain_read(p) < 0)
			return -1;
		tls_send(p);
		if (want_tls_recv(p))
			tls_recv(p);
		if (plain_write(p) < 0)
			return -1;
	}
}

static int set_nonblock(int fd, const char *what, struct nbd_err *e)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_errno(e, errno, "cannot make the %s non-blocking",
				 what);
	return 0;
}

int pump_run(gnutls_session_t s, int net_fd, int plain_fd,
	     struct pump_stats *st, struct nbd_err *e)
{
	struct pump p = { .s = s, .net = net_fd, .plain = plain_fd,
			  .st = st, .e = e };
	int r = -1;

	if (set_nonblock(net_fd, "server socket", e) < 0 ||
	    set_nonblock(plain_fd, "kernel's socket", e) < 0)
		return -1;
	p.up.buf = malloc(PUMP_BUF_SIZE);
	p.down.buf = malloc(PUMP_BUF_SIZE);
	if (!p.up.buf || !p.down.buf) {
		err_errno(e, ENOMEM, "cannot allocate the proxy's buffers");
		goto out;
	}
	r = pump_loop(&p);
out:
	free(p.up.buf);
	free(p.down.buf);
	return r;
}
