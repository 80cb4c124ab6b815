// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "tls-refused.h"

void conn_init(struct nbd_conn *c, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->stop_fd = -1;
	c->timeout_ms = timeout_ms;
	c->op = DEADLINE_NONE;
	c->all = DEADLINE_NONE;
}

void conn_begin_negotiation(struct nbd_conn *c)
{
	c->all = deadline_in(c->timeout_ms < 0
				     ? -1
				     : (int64_t)c->timeout_ms *
					       NBD_NEGOTIATION_TIMEOUTS);
	c->op = c->all;
}

void conn_begin_op(struct nbd_conn *c, int ms)
{
	c->op = deadline_min(deadline_in(ms >= 0 ? ms : c->timeout_ms), c->all);
}

static int timed_out(struct nbd_conn *c, struct nbd_err *e)
{
	if (c->op.end_ms == c->all.end_ms && c->timeout_ms >= 0)
		return err_set(e, "timed out: the whole negotiation with %s may take at most %d s (%d x -timeout)",
			       c->peer, c->timeout_ms / 1000 * NBD_NEGOTIATION_TIMEOUTS,
			       NBD_NEGOTIATION_TIMEOUTS);
	return err_set(e, "timed out after %d s waiting for the server %s (raise it with -timeout)",
		       c->timeout_ms / 1000, c->peer);
}

static int stop_requested(struct nbd_conn *c, struct nbd_err *e)
{
	c->stopped = true;
	return err_set(e, "stopped while talking to %s", c->peer);
}

static int set_nonblock(int fd, struct nbd_err *e)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_errno(e, errno, "cannot make the socket non-blocking");
	return 0;
}

/* The one place where the client waits for a server. */
int conn_wait(struct nbd_conn *c, short events, struct nbd_err *e)
{
	struct pollfd p[2] = { { .fd = c->fd, .events = events },
			       { .fd = c->stop_fd, .events = POLLIN } };
	int r;

	for (;;) {
		int left = deadline_left_ms(c->op);

		if (left == 0)
			return timed_out(c, e);
		if (c->gone && (left < 0 || left > NBD_GONE_CHECK_MS))
			left = NBD_GONE_CHECK_MS;
		r = poll(p, c->stop_fd >= 0 ? 2 : 1, left);
		if (r == 0 && c->gone && c->gone(c->gone_arg)) {
			c->stopped = true;
			return err_set(e, "stopped talking to %s: no longer needed",
				       c->peer);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_errno(e, errno, "poll on the connection to %s",
					 c->peer);
		if (c->stop_fd >= 0 && p[1].revents)
			return stop_requested(c, e);
		if (r > 0)
			return 0;
	}
}

/* Wait for a non-blocking connect() to finish within the timeout. */
static int finish_connect(struct nbd_conn *c, struct nbd_err *e)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (conn_wait(c, POLLOUT, e) < 0)
		return -1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return err_errno(e, errno, "cannot connect to %s", c->peer);
	if (soerr)
		return err_errno(e, soerr, "cannot connect to %s", c->peer);
	return 0;
}

static int try_connect(struct nbd_conn *c, int family, int type, int proto,
		       const struct sockaddr *sa, socklen_t salen,
		       struct nbd_err *e)
{
	c->fd = socket(family, type | SOCK_CLOEXEC, proto);
	if (c->fd < 0)
		return err_errno(e, errno, "cannot create a socket");
	if (set_nonblock(c->fd, e) < 0)
		goto fail;
	if (connect(c->fd, sa, salen) == 0)
		return 0;
	if (family == AF_UNIX && errno == EAGAIN) {
		/* not "in progress": the server's listen backlog is full */
		err_set(e, "cannot connect to %s: the server is not accepting connections (its listen backlog is full)",
			c->peer);
		goto fail;
	}
	if (errno != EINPROGRESS) {
		err_errno(e, errno, "cannot connect to %s", c->peer);
		goto fail;
	}
	if (finish_connect(c, e) == 0)
		return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

static int connect_unix(struct nbd_conn *c, const char *path,
			struct nbd_err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, "Unix socket path '%s' is too long (max %zu bytes)",
			       path, sizeof(sun.sun_path) - 1);
	strcpy(sun.sun_path, path);
	c->peer = strdup(path);
	if (!c->peer)
		return err_errno(e, ENOMEM, "connect");
	return try_connect(c, AF_UNIX, SOCK_STREAM, 0,
			   (struct sockaddr *)&sun, sizeof(sun), e);
}

/* Not a stopped or timed-out lookup yet: poll stop_fd in slices. */
#define RESOLVE_SLICE_MS 100

static int resolve_wait(struct nbd_conn *c, struct gaicb *req,
			struct nbd_err *e)
{
	const struct gaicb *list[1] = { req };
	struct pollfd p = { .fd = c->stop_fd, .events = POLLIN };

	for (;;) {
		int left = deadline_left_ms(c->op), r;
		struct timespec ts;

		if (left == 0)
			return timed_out(c, e);
		if (left < 0 || left > RESOLVE_SLICE_MS)
			left = RESOLVE_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000;
		r = gai_suspend(list, 1, &ts);
		if (r == 0 || r == EAI_ALLDONE)
			return 0;
		if (c->stop_fd >= 0 && poll(&p, 1, 0) > 0)
			return stop_requested(c, e);
	}
}

/*
 * getaddrinfo() under the connect deadline.  A lookup that cannot be
 * cancelled keeps running in glibc's resolver thread and goes on reading
 * the request and its hints: that one small allocation is then left behind
 * on purpose (host and port belong to the configuration, which lives on).
 */
struct lookup {
	struct gaicb req;
	struct addrinfo hints;
};

static int resolve(struct nbd_conn *c, const char *host, const char *port,
		   const struct addrinfo *hints, struct addrinfo **ai,
		   struct nbd_err *e)
{
	struct lookup *l = calloc(1, sizeof(*l));
	struct gaicb *list[1];
	int r;

	if (!l)
		return err_errno(e, ENOMEM, "cannot resolve %s", c->peer);
	l->hints = *hints;
	l->req.ar_name = host;
	l->req.ar_service = port;
	l->req.ar_request = &l->hints;
	list[0] = &l->req;
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (r == 0 && resolve_wait(c, &l->req, e) < 0) {
		if (gai_cancel(&l->req) != EAI_NOTCANCELED) {
			if (l->req.ar_result)
				freeaddrinfo(l->req.ar_result);
			free(l);
		}
		return -1;
	}
	if (r == 0)
		r = gai_error(&l->req);
	*ai = l->req.ar_result;
	free(l);
	if (r == EAI_SYSTEM)
		return err_errno(e, errno, "cannot resolve %s", c->peer);
	if (r) {
		if (*ai)
			freeaddrinfo(*ai);
		return err_set(e, "cannot resolve %s: %s", c->peer,
			       gai_strerror(r));
	}
	return 0;
}

/* An address literal needs no resolver thread (nor, after switch_root,
 * the libgcc_s that glibc loads when such a thread ends). */
static int resolve_numeric(const char *host, const char *port,
			   const struct addrinfo *hints, struct addrinfo **ai)
{
	struct addrinfo h = *hints;

	h.ai_flags |= AI_NUMERICHOST;
	h.ai_flags &= ~AI_ADDRCONFIG;
	return getaddrinfo(host, port, &h, ai) == 0 ? 0 : -1;
}

static int connect_addr(struct nbd_conn *c, const struct sockaddr *sa,
			socklen_t len, struct nbd_err *e)
{
	int r = try_connect(c, sa->sa_family, SOCK_STREAM, 0, sa, len, e);

	if (r == 0 && c->remember && len <= sizeof(c->remember->sa)) {
		memcpy(&c->remember->sa, sa, len);
		c->remember->len = len;
	}
	return r;
}

/* The addresses of the last good connection, when the name no longer
 * resolves (after switch_root there may be no resolv.conf or hosts). */
static int connect_remembered(struct nbd_conn *c, struct nbd_err *e)
{
	struct nbd_err why = *e;

	if (!c->remember || !c->remember->len)
		return -1;
	if (connect_addr(c, (struct sockaddr *)&c->remember->sa,
			 c->remember->len, e) == 0)
		return 0;
	*e = why;
	return -1;
}

static int connect_tcp(struct nbd_conn *c, const char *host, const char *port,
		       struct nbd_err *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *ai = NULL, *p;
	int one = 1, r;

	if (asprintf(&c->peer, strchr(host, ':') ? "[%s]:%s" : "%s:%s",
		     host, port) < 0) {
		c->peer = NULL;
		return err_errno(e, ENOMEM, "connect");
	}
	if (resolve_numeric(host, port, &hints, &ai) < 0 &&
	    resolve(c, host, port, &hints, &ai, e) < 0) {
		r = connect_remembered(c, e);
		goto out;
	}
	r = -1;
	for (p = ai; p && r < 0; p = p->ai_next)
		r = connect_addr(c, p->ai_addr, p->ai_addrlen, e);
	freeaddrinfo(ai);
out:
	if (r == 0)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return r;
}

int conn_connect(struct nbd_conn *c, const struct nbd_config *cfg,
		 struct nbd_err *e)
{
	conn_begin_op(c, -1);
	if (cfg->unix_path)
		return connect_unix(c, cfg->unix_path, e);
	if (!cfg->host)
		return err_set(e, "no server given");
	return connect_tcp(c, cfg->host, cfg->port ? cfg->port : NBD_DEFAULT_PORT,
			   e);
}

static int tls_io_error(struct nbd_conn *c, ssize_t r, const char *what,
			struct nbd_err *e)
{
	if (tls_cert_refused(c->tls, (int)r, c->tls_ready, c->tls_data,
			     c->peer, e)) {
		c->tls_refused = true;
		return -1;
	}
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
	    r == GNUTLS_E_PUSH_ERROR)
		return err_set(e, "the server %s closed the TLS connection (did it reject our credentials?)",
			       c->peer);
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return err_set(e, "the server %s ended the TLS connection with alert '%s'",
			       c->peer, gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH)
		return err_set(e, "the server %s cut the TLS connection in the middle of a record",
			       c->peer);
	if (r == GNUTLS_E_UNEXPECTED_PACKET)
		return err_set(e, "the server %s sent something that is not a record of this TLS session (garbage on the connection?)",
			       c->peer);
	return err_set(e, "TLS %s from %s failed: %s", what, c->peer,
		       gnutls_strerror((int)r));
}

static ssize_t read_some(struct nbd_conn *c, void *buf, size_t len,
			 struct nbd_err *e)
{
	ssize_t r;

	for (;;) {
		if (c->tls)
			r = gnutls_record_recv(c->tls, buf, len);
		else
			r = recv(c->fd, buf, len, 0);
		if (r > 0) {
			c->tls_data = c->tls != NULL;
			return r;
		}
		if (r == 0 && c->tls)
			return tls_io_error(c, GNUTLS_E_PREMATURE_TERMINATION,
					    "read", e);
		if (r == 0)
			return err_set(e, "the server %s closed the connection",
				       c->peer);
		if (c->tls) {
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r != GNUTLS_E_AGAIN)
				return tls_io_error(c, r, "read", e);
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return err_errno(e, errno, "read from %s", c->peer);
		}
		if (conn_wait(c, POLLIN, e) < 0)
			return -1;
	}
}

int conn_read(struct nbd_conn *c, void *buf, size_t len, struct nbd_err *e)
{
	char *p = buf;

	while (len) {
		ssize_t r = read_some(c, p, len, e);

		if (r < 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static ssize_t write_some(struct nbd_conn *c, const void *buf, size_t len,
			  struct nbd_err *e)
{
	ssize_t r;

	for (;;) {
		if (c->tls)
			r = gnutls_record_send(c->tls, buf, len);
		else
			r = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (c->tls) {
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r != GNUTLS_E_AGAIN)
				return tls_io_error(c, r, "write", e);
			/* GnuTLS wants the same call again with the same data */
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return err_errno(e, errno, "write to %s", c->peer);
		}
		if (conn_wait(c, POLLOUT, e) < 0)
			return -1;
	}
}

int conn_write(struct nbd_conn *c, const void *buf, size_t len,
	       struct nbd_err *e)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write_some(c, p, len, e);

		if (r < 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void free_tls(struct nbd_conn *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	c->tls = NULL;
	c->tls_ready = false;
}

void conn_close(struct nbd_conn *c)
{
	if (c->tls_ready && c->fd >= 0)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* best effort, non-blocking */
	free_tls(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->peer);
	c->peer = NULL;
}

void conn_release(struct nbd_conn *c)
{
	struct nbd_conn keep = *c;

	free_tls(c);
	free(c->peer);
	conn_init(c, keep.timeout_ms);
	c->stop_fd = keep.stop_fd;
	c->gone = keep.gone;
	c->gone_arg = keep.gone_arg;
	c->remember = keep.remember;
}
