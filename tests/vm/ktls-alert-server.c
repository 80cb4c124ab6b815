// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-alert-server: a tiny NBD server over TLS (GnuTLS) that sends a TLS
 * alert or a KeyUpdate mid-stream on demand, for tests/vm/75-ktls-alert.t.
 *
 *   ktls-alert-server PORT SIZE_MIB CERT KEY PRIORITY PIDFILE
 *
 * Fixed newstyle; NBD_OPT_STARTTLS then a server handshake with CERT/KEY
 * (PRIORITY picks TLS 1.2 or 1.3); NBD_OPT_GO answers NBD_INFO_EXPORT
 * (SIZE_MIB MiB, HAS_FLAGS|SEND_FLUSH) and ACK, NBD_OPT_ABORT ends, any
 * other option gets ERR_UNSUP (ERR_TLS_REQD before TLS).  Then READ, WRITE,
 * FLUSH and DISC from a MAP_SHARED memory buffer, simple replies, one
 * process per connection: the data survives a reconnect.
 *
 * Triggers, sent to the listener (PIDFILE), which hands them on to every
 * connection open at that moment (its process group); each acts between
 * two requests (signals are only let in while it waits for one):
 *   SIGUSR1  gnutls_bye(GNUTLS_SHUT_WR) (a warning-level close_notify), close
 *   SIGUSR2  gnutls_alert_send(FATAL, INTERNAL_ERROR), close
 *   SIGHUP   gnutls_session_key_update() (TLS 1.3 KeyUpdate), keep serving
 * A connection is closed only once the client has closed its side (drain).
 * Each connection logs one line per event on stderr ("conn N: ...").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_OPTS_MAGIC		0x49484156454F5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC	0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698U

#define NBD_FLAG_FIXED_NEWSTYLE	1
#define NBD_FLAG_NO_ZEROES	2
#define NBD_FLAG_HAS_FLAGS	1
#define NBD_FLAG_SEND_FLUSH	4

#define NBD_OPT_ABORT		2
#define NBD_OPT_STARTTLS	5
#define NBD_OPT_GO		7
#define NBD_REP_ACK		1
#define NBD_REP_INFO		3
#define NBD_REP_ERR_UNSUP	0x80000001U
#define NBD_REP_ERR_INVALID	0x80000003U
#define NBD_REP_ERR_TLS_REQD	0x80000005U
#define NBD_INFO_EXPORT		0

#define NBD_CMD_READ	0
#define NBD_CMD_WRITE	1
#define NBD_CMD_DISC	2
#define NBD_CMD_FLUSH	3

#define MAX_OPT_LEN	4096
#define MAX_REQ_LEN	(32U << 20)

struct conn {
	int fd;
	unsigned int id;
	gnutls_session_t tls;		/* NULL before STARTTLS */
	gnutls_certificate_credentials_t cred;
	const char *prio;
	unsigned char *disk;
	uint64_t size;
	unsigned char *buf;		/* MAX_REQ_LEN */
};

static volatile sig_atomic_t got_sig;

static void on_sig(int sig)
{
	got_sig = sig;
}

static void say(const struct conn *c, const char *fmt, const char *what)
{
	fprintf(stderr, "ktls-alert-server: conn %u: ", c->id);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
}

/* 0, or -1 on EOF/error.  Blocking socket; the trigger signals are blocked. */
static int rd(struct conn *c, void *p, size_t n)
{
	unsigned char *b = p;
	ssize_t r;

	while (n) {
		if (c->tls)
			r = gnutls_record_recv(c->tls, b, n);
		else
			r = read(c->fd, b, n);
		if (c->tls && (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED))
			continue;
		if (!c->tls && r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (c->tls && r < 0)
				say(c, "read: %s", gnutls_strerror(r));
			return -1;
		}
		b += r;
		n -= r;
	}
	return 0;
}

static int wr(struct conn *c, const void *p, size_t n)
{
	const unsigned char *b = p;
	ssize_t r;

	while (n) {
		if (c->tls)
			r = gnutls_record_send(c->tls, b, n);
		else
			r = write(c->fd, b, n);
		if (c->tls && (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED))
			continue;
		if (!c->tls && r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= r;
	}
	return 0;
}

static void put16(unsigned char *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

static int opt_reply(struct conn *c, uint32_t opt, uint32_t type,
		     const void *data, uint32_t len)
{
	unsigned char h[20];

	put64(h, NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	if (wr(c, h, sizeof(h)))
		return -1;
	return len ? wr(c, data, len) : 0;
}

static int start_tls(struct conn *c)
{
	int r;

	if (gnutls_init(&c->tls, GNUTLS_SERVER) < 0)
		return -1;
	r = gnutls_priority_set_direct(c->tls, c->prio, NULL);
	if (r == 0)
		r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	if (r < 0) {
		say(c, "TLS setup: %s", gnutls_strerror(r));
		return -1;
	}
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, 30000);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		say(c, "handshake: %s", gnutls_strerror(r));
		return -1;
	}
	say(c, "handshake done, %s",
	    gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls)));
	return 0;
}

/* NBD_OPT_GO: u32 name length, name, u16 count, count u16 info requests. */
static int opt_go(struct conn *c, uint32_t len)
{
	unsigned char info[12];
	uint32_t nlen;

	if (len < 6 || (nlen = get32(c->buf)) > len - 6 ||
	    get16(c->buf + 4 + nlen) * 2U != len - 6 - nlen)
		return opt_reply(c, NBD_OPT_GO, NBD_REP_ERR_INVALID, NULL, 0) ? -1 : 1;
	put16(info, NBD_INFO_EXPORT);
	put64(info + 2, c->size);
	put16(info + 10, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH);
	if (opt_reply(c, NBD_OPT_GO, NBD_REP_INFO, info, sizeof(info)) ||
	    opt_reply(c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0))
		return -1;
	return 0;
}

/* 0: go to transmission; -1: end the connection. */
static int negotiate(struct conn *c)
{
	unsigned char h[16];
	uint32_t opt, len;
	int r;

	put64(h, NBD_MAGIC);
	put64(h + 8, NBD_OPTS_MAGIC);
	if (wr(c, h, 16))
		return -1;
	put16(h, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (wr(c, h, 2) || rd(c, h, 4))
		return -1;
	for (;;) {
		if (rd(c, h, 16))
			return -1;
		if (get64(h) != NBD_OPTS_MAGIC)
			return -1;
		opt = get32(h + 8);
		len = get32(h + 12);
		if (len > MAX_OPT_LEN) {
			say(c, "%s", "option too long, hanging up");
			return -1;
		}
		if (rd(c, c->buf, len))
			return -1;
		if (opt == NBD_OPT_ABORT) {
			opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
			return -1;
		}
		if (!c->tls && opt == NBD_OPT_STARTTLS) {
			if (len) {
				r = opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
			} else {
				r = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
				if (!r)
					r = start_tls(c);
			}
		} else if (!c->tls) {
			r = opt_reply(c, opt, NBD_REP_ERR_TLS_REQD, NULL, 0);
		} else if (opt == NBD_OPT_GO) {
			r = opt_go(c, len);
			if (r == 0)
				return 0;
			r = r < 0 ? -1 : 0;
		} else {
			r = opt_reply(c, opt, NBD_REP_ERR_UNSUP, NULL, 0);
		}
		if (r)
			return -1;
	}
}

static int reply(struct conn *c, uint32_t err, const unsigned char *handle,
		 const void *data, uint32_t len)
{
	unsigned char h[16];

	put32(h, NBD_SIMPLE_REPLY_MAGIC);
	put32(h + 4, err);
	memcpy(h + 8, handle, 8);
	if (wr(c, h, 16))
		return -1;
	return len ? wr(c, data, len) : 0;
}

/* One request.  0: go on; 1: NBD_CMD_DISC; -1: error. */
static int serve_one(struct conn *c)
{
	unsigned char h[28];
	uint16_t type;
	uint64_t off;
	uint32_t len;
	int bad;

	if (rd(c, h, 28))
		return -1;
	if (get32(h) != NBD_REQUEST_MAGIC) {
		say(c, "%s", "bad request magic, hanging up");
		return -1;
	}
	type = get16(h + 6);
	off = get64(h + 16);
	len = get32(h + 24);
	if (type == NBD_CMD_DISC)
		return 1;
	if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && len > MAX_REQ_LEN) {
		say(c, "%s", "request too long, hanging up");
		return -1;
	}
	bad = off > c->size || len > c->size - off;
	switch (type) {
	case NBD_CMD_READ:
		if (bad)
			return reply(c, EINVAL, h + 8, NULL, 0);
		return reply(c, 0, h + 8, c->disk + off, len);
	case NBD_CMD_WRITE:
		if (rd(c, c->buf, len))
			return -1;
		if (bad)
			return reply(c, EINVAL, h + 8, NULL, 0);
		memcpy(c->disk + off, c->buf, len);
		return reply(c, 0, h + 8, NULL, 0);
	case NBD_CMD_FLUSH:
		return reply(c, 0, h + 8, NULL, 0);
	default:
		return reply(c, EINVAL, h + 8, NULL, 0);
	}
}

/* Wait for a request with the trigger signals let in.  0: readable. */
static int wait_request(struct conn *c, const sigset_t *open_mask)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (gnutls_record_check_pending(c->tls))
		return 0;
	while (!got_sig) {
		if (ppoll(&p, 1, NULL, open_mask) > 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
	return 1;
}

/* The trigger: 1 if the connection must end now. */
static int act(struct conn *c, int sig)
{
	int r;

	got_sig = 0;
	if (sig == SIGUSR1) {
		r = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		say(c, "sent close_notify (gnutls_bye SHUT_WR): %s", gnutls_strerror(r));
		return 1;
	}
	if (sig == SIGUSR2) {
		r = gnutls_alert_send(c->tls, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
		say(c, "sent fatal alert internal_error: %s", gnutls_strerror(r));
		return 1;
	}
	r = gnutls_session_key_update(c->tls, 0);
	say(c, "sent KeyUpdate: %s", gnutls_strerror(r));
	return 0;
}

static void serve(struct conn *c)
{
	sigset_t open_mask;
	int r;

	sigprocmask(SIG_SETMASK, NULL, &open_mask);
	sigdelset(&open_mask, SIGUSR1);
	sigdelset(&open_mask, SIGUSR2);
	sigdelset(&open_mask, SIGHUP);
	if (negotiate(c))
		return;
	say(c, "%s", "transmission");
	for (;;) {
		r = wait_request(c, &open_mask);
		if (r > 0) {
			if (act(c, got_sig))
				return;
			continue;
		}
		if (r < 0)
			return;
		r = serve_one(c);
		if (r) {
			say(c, "%s", r > 0 ? "NBD_CMD_DISC" : "connection ended");
			return;
		}
	}
}

static int listen_on(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, one = 1;

	a.sin_port = htons(atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		perror("ktls-alert-server: listen");
		exit(1);
	}
	return fd;
}

/*
 * The end of a connection: nothing more from us, and what the client still
 * sends (its reader's requests) read and dropped until it closes, 10 s at
 * most.  Closed with that unread, the socket would send a RST right
 * behind the alert, and the client's kernel could meet the reset before
 * the alert: once in CI, 6.12 logged "Receive control failed (result
 * -32)", an end of stream, instead of the alert's -5.
 */
static void drain(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];

	shutdown(fd, SHUT_WR);
	while (poll(&p, 1, 10000) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
}

static void child(struct conn *c)
{
	struct sigaction sa = { .sa_handler = on_sig };
	int one = 1;

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->buf = malloc(MAX_REQ_LEN);
	if (c->buf)
		serve(c);
	if (c->tls)
		gnutls_deinit(c->tls);
	drain(c->fd);
	close(c->fd);
	say(c, "%s", "closed");
	_exit(0);
}

/* Hand a trigger on to the connections (our process group), not to us. */
static void forward(int sig)
{
	struct sigaction sa = { .sa_handler = on_sig };

	kill(0, sig);
	/* Our own copy is pending (blocked): SIG_IGN discards it. */
	signal(sig, SIG_IGN);
	sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sig };	/* no SA_RESTART */
	struct conn c = { 0 };
	sigset_t trig, open_mask;
	FILE *f;
	int lfd, sig;

	if (argc != 7) {
		fprintf(stderr, "usage: ktls-alert-server PORT SIZE_MIB CERT KEY PRIORITY PIDFILE\n");
		return 2;
	}
	c.size = strtoull(argv[2], NULL, 10) << 20;
	c.prio = argv[5];
	c.disk = mmap(NULL, c.size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!c.size || c.disk == MAP_FAILED) {
		perror("ktls-alert-server: mmap");
		return 1;
	}
	if (gnutls_certificate_allocate_credentials(&c.cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(c.cred, argv[3], argv[4],
						 GNUTLS_X509_FMT_PEM) < 0) {
		fprintf(stderr, "ktls-alert-server: cannot load %s / %s\n", argv[3], argv[4]);
		return 1;
	}
	setpgid(0, 0);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&trig);
	sigaddset(&trig, SIGUSR1);
	sigaddset(&trig, SIGUSR2);
	sigaddset(&trig, SIGHUP);
	lfd = listen_on(argv[1]);
	f = fopen(argv[6], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		perror("ktls-alert-server: pidfile");
		return 1;
	}
	/* Triggers get in only while we wait for a connection. */
	sigprocmask(SIG_BLOCK, &trig, &open_mask);
	sigdelset(&open_mask, SIGUSR1);
	sigdelset(&open_mask, SIGUSR2);
	sigdelset(&open_mask, SIGHUP);
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (ppoll(&p, 1, NULL, &open_mask) < 0 && got_sig) {
			sig = got_sig;
			got_sig = 0;
			forward(sig);
			continue;
		}
		c.fd = accept(lfd, NULL, NULL);
		if (c.fd < 0)
			continue;
		c.id++;
		if (fork() == 0) {
			close(lfd);
			got_sig = 0;
			child(&c);
		}
		close(c.fd);
	}
}
