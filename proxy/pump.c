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
 *
 * GnuTLS does not touch the server's socket itself: it pulls from and
 * pushes to two buffers of ours (struct netio), so one recv() brings in
 * every record the socket holds and one send() takes out every record a
 * burst made.  Left to itself GnuTLS makes three system calls to read a
 * record (its 5-byte header, its body, and a recv that says EAGAIN) and
 * one to send each.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pump.h"

#define TLS_RECORD_MAX 16384
/* A record on the wire: header, the data, the content type, the tag, and
 * room for padding or an older TLS version's overhead. */
#define TLS_WIRE_MAX (TLS_RECORD_MAX + 256)
#define NET_IN_SIZE (256 * 1024)
#define NET_OUT_SIZE (256 * 1024)

struct ring {
	char *buf;
	size_t head;		/* first stored byte */
	size_t len;		/* bytes stored */
};

/* What GnuTLS reads from and writes to instead of the server's socket. */
struct netio {
	char *in;
	size_t in_off, in_len;	/* received, not yet pulled by GnuTLS */
	bool in_dry;		/* the socket had no more when last asked:
				 * ask it again only after poll says so */
	char *out;
	size_t out_off, out_len; /* records made, not yet sent */
};

struct pump {
	gnutls_session_t s;
	int net, plain;
	struct netio io;
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

/* ---- the server's socket, under GnuTLS ---- */

/* GnuTLS's pull: from what one recv() brought in. */
static ssize_t net_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
	struct pump *p = ptr;
	struct netio *io = &p->io;
	ssize_t n;

	if (!io->in_len) {
		if (io->in_dry) {
			errno = EAGAIN;
			return -1;
		}
		n = recv(p->net, io->in, NET_IN_SIZE, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			io->in_dry = true;
		if (n <= 0)
			return n;
		io->in_off = 0;
		io->in_len = (size_t)n;
		/* a short read emptied the socket: asking again now would
		 * only say EAGAIN */
		io->in_dry = (size_t)n < NET_IN_SIZE;
	}
	if (size > io->in_len)
		size = io->in_len;
	memcpy(buf, io->in + io->in_off, size);
	io->in_off += size;
	io->in_len -= size;
	return (ssize_t)size;
}

/* Send what GnuTLS made: 0 when all is sent or the socket is full
 * (net_wblk), -1 with errno set on a socket error. */
static int net_flush(struct pump *p)
{
	struct netio *io = &p->io;
	ssize_t n;

	while (io->out_len) {
		n = send(p->net, io->out + io->out_off, io->out_len,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			p->net_wblk = true;
			return 0;
		}
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		io->out_off += (size_t)n;
		io->out_len -= (size_t)n;
	}
	io->out_off = 0;
	return 0;
}

/* GnuTLS's push: a whole record into our buffer, or EAGAIN when it has no
 * room even after a send(). */
static ssize_t net_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
			int iovcnt)
{
	struct pump *p = ptr;
	struct netio *io = &p->io;
	size_t total = 0, end;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (NET_OUT_SIZE - io->out_len < total && !p->net_wblk &&
	    net_flush(p) < 0)
		return -1;
	if (NET_OUT_SIZE - io->out_len < total) {
		errno = EAGAIN;
		return -1;
	}
	if (io->out_off + io->out_len + total > NET_OUT_SIZE) {
		memmove(io->out, io->out + io->out_off, io->out_len);
		io->out_off = 0;
	}
	end = io->out_off + io->out_len;
	for (i = 0; i < iovcnt; i++) {
		memcpy(io->out + end, iov[i].iov_base, iov[i].iov_len);
		end += iov[i].iov_len;
	}
	io->out_len += total;
	return (ssize_t)total;
}

/* What the session is given back when the pump returns: the socket
 * itself, as before (GnuTLS has no call that restores its own). */
static ssize_t direct_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
	return recv((int)(intptr_t)ptr, buf, size, 0);
}

static ssize_t direct_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
			   int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)iovcnt };

	return sendmsg((int)(intptr_t)ptr, &m, MSG_NOSIGNAL);
}

static void transport_ours(struct pump *p)
{
	gnutls_transport_set_ptr(p->s, p);
	gnutls_transport_set_pull_function(p->s, net_pull);
	gnutls_transport_set_vec_push_function(p->s, net_push);
}

static void transport_direct(struct pump *p)
{
	gnutls_transport_set_pull_function(p->s, direct_pull);
	gnutls_transport_set_vec_push_function(p->s, direct_push);
	gnutls_transport_set_int(p->s, p->net);
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

static void net_send_failed(struct pump *p)
{
	net_failed(p, GNUTLS_E_PUSH_ERROR, "write to");
}

/* What GnuTLS made, to the socket, unless it is known to be full. */
static void net_send(struct pump *p)
{
	if (!p->net_done && !p->net_wblk && net_flush(p) < 0)
		net_send_failed(p);
}

/* Records go into our buffer, and out in one send() when it is full or
 * the burst is over (net_send). */
static void tls_send(struct pump *p)
{
	ssize_t r;
	size_t len;

	while (!p->net_done && (p->send_len || p->up.len)) {
		if (NET_OUT_SIZE - p->io.out_len < TLS_WIRE_MAX) {
			if (p->net_wblk)
				break;
			net_send(p);
			continue;
		}
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
	       (p->net_rd || p->io.in_len ||
		gnutls_record_check_pending(p->s) > 0);
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
		if (p->io.in_len || gnutls_record_check_pending(p->s) > 0)
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
	if (p->net_rd)
		p->io.in_dry = false;
	if (fds[1].revents & (POLLOUT | POLLHUP | POLLERR)) {
		p->net_wblk = false;
		if (p->recv_wants_out)
			p->net_rd = true;
	}
	return 0;
}

/* Send all that is buffered for the server, waiting at most until the
 * deadline: 0 when it all went, else -1. */
static int net_drain(struct pump *p)
{
	struct pollfd pfd = { .fd = p->net, .events = POLLOUT };
	int r;

	for (;;) {
		p->net_wblk = false;
		if (net_flush(p) < 0)
			return -1;
		if (!p->io.out_len)
			return 0;
		r = poll(&pfd, 1, ms_left(p));
		if (r == 0 || (r < 0 && errno != EINTR))
			return -1;
	}
}

/* Send our close_notify (after what is still buffered), waiting at most
 * until the deadline. */
static void say_bye(struct pump *p)
{
	int r;

	do
		r = gnutls_bye(p->s, GNUTLS_SHUT_WR);
	while (r == GNUTLS_E_INTERRUPTED ||
	       (r == GNUTLS_E_AGAIN && net_drain(p) == 0));
	/* sent, or the server is gone: both fine */
	net_drain(p);
}

/* The kernel closed and everything reached the server's socket: say
 * goodbye. */
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
		       p->up.len + p->io.out_len);
}

static int pump_loop(struct pump *p)
{
	int r;

	for (;;) {
		if (p->net_done && (!p->down.len || p->plain_dead))
			return finish_to_kernel(p);
		/* all of it sent, not only made into records: while the
		 * socket is full we must go on reading what the server sends,
		 * or a server that writes before it reads never takes it */
		if (p->plain_eof && !p->up.len && !p->send_len &&
		    !p->io.out_len)
			return finish_to_server(p);
		r = wait_ready(p);
		if (r < 0)
			return -1;
		if (r > 0)
			return timed_out(p);
		if (p->plain_rd && plain_read(p) < 0)
			return -1;
		tls_send(p);
		net_send(p);
		if (want_tls_recv(p))
			tls_recv(p);
		net_send(p);	/* what GnuTLS answered, if anything */
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
	p.io.in = malloc(NET_IN_SIZE);
	p.io.out = malloc(NET_OUT_SIZE);
	if (!p.up.buf || !p.down.buf || !p.io.in || !p.io.out) {
		err_errno(e, ENOMEM, "cannot allocate the proxy's buffers");
		goto out;
	}
	transport_ours(&p);
	r = pump_loop(&p);
	transport_direct(&p);
out:
	free(p.up.buf);
	free(p.down.buf);
	free(p.io.in);
	free(p.io.out);
	return r;
}
