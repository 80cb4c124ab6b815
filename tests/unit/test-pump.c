// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The TLS proxy's pump and the data path, with no network and no kernel:
 *
 *   test --K[1]==K[0]-- pump_run --N[0]==N[1]-- forked GnuTLS PSK server
 *
 * The server echoes what it decrypts (or closes first), and reports what it
 * received and whether it saw our close_notify over a pipe.  The pump also
 * runs in a child, reporting its return value, error text and counters.
 * The PSK is random per run.  Every case is bounded by alarm().
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "datapath.h"
#include "nego.h"
#include "pump.h"
#include "tap.h"

#define PRIO "NORMAL:+ECDHE-PSK:+PSK"
#define CASE_TIMEOUT 60
#define ECHO_TOTAL (16u << 20)
#define SMALL_TOTAL (1u << 20)
#define CHUNK (64 * 1024)

/* SRV_KEYUPDATE: echo, and after every KU_EVERY bytes received ask the
 * client for a TLS 1.3 KeyUpdate (GNUTLS_KU_PEER).  Not more often: GnuTLS
 * takes more than 8 KeyUpdates a second for an attack and fails. */
#define KU_EVERY (192 * 1024)
enum srv_mode { SRV_ECHO, SRV_CLOSE_FIRST, SRV_KEYUPDATE };

struct srv_report {
	unsigned long long rx;
	int clean;		/* saw our close_notify */
	int ku_asked;		/* KeyUpdates asked of the client */
	int ku_seen;		/* KeyUpdates received from the client */
};

struct pump_report {
	int rc;
	struct pump_stats st;
	struct nbd_err e;
};

struct fixture {
	int net[2], kern[2];
	int srv_rep, pump_rep;	/* read ends of the report pipes */
	pid_t srv_pid, pump_pid;
	gnutls_session_t cli;
	gnutls_psk_client_credentials_t cred;
};

/* ---- the byte pattern: byte i depends only on i ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pattern_fill(unsigned char *buf, uint64_t off, size_t len)
{
	uint64_t v;
	size_t i = 0, k;

	while (i < len) {
		v = mix((off + i) / 8);
		k = (off + i) % 8;
		while (k < 8 && i < len)
			buf[i++] = ((unsigned char *)&v)[k++];
	}
}

static bool pattern_ok(const unsigned char *buf, uint64_t off, size_t len)
{
	unsigned char want[CHUNK];
	size_t n;

	while (len) {
		n = len < CHUNK ? len : CHUNK;
		pattern_fill(want, off, n);
		if (memcmp(buf, want, n))
			return false;
		buf += n;
		off += n;
		len -= n;
	}
	return true;
}

/* ---- small helpers ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static int wait_status(pid_t pid)
{
	int ws = 0;

	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Read fd (blocking) to EOF; check it against the pattern; -1 on error. */
static long long drain(int fd, bool check)
{
	unsigned char buf[CHUNK];
	long long total = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, -1);
			continue;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		if (check && !pattern_ok(buf, (uint64_t)total, (size_t)n))
			return -1;
		total += n;
	}
}

/*
 * Write total pattern bytes into fd (non-blocking), reading and checking the
 * echo meanwhile, until all of it came back.  With shut: shutdown(SHUT_WR)
 * once all is written, then read until EOF.  Returns the seconds taken, or
 * -1 on a mismatch or an early EOF; *got (may be NULL) the bytes read.
 */
static double echo_ex(int fd, size_t total, bool shut, size_t *got)
{
	unsigned char *wbuf = malloc(CHUNK), *rbuf = malloc(CHUNK);
	size_t sent = 0, recvd = 0, len;
	double t0 = now_s(), r = -1;
	bool eof = false;
	ssize_t n;

	while (wbuf && rbuf && (shut ? !eof : recvd < total)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (sent < total)
			p.events |= POLLOUT;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			goto out;
		if (sent < total && (p.revents & POLLOUT)) {
			len = total - sent < CHUNK ? total - sent : CHUNK;
			pattern_fill(wbuf, sent, len);
			n = write(fd, wbuf, len);
			if (n > 0)
				sent += (size_t)n;
			if (shut && sent == total)
				shutdown(fd, SHUT_WR);
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, rbuf, CHUNK);
		if (n == 0 && shut && sent == total) {
			eof = true;
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			goto out;
		if (n > 0 && !pattern_ok(rbuf, recvd, (size_t)n)) {
			printf("# echo mismatch near offset %zu\n", recvd);
			goto out;
		}
		if (n > 0)
			recvd += (size_t)n;
	}
	r = now_s() - t0;
out:
	if (got)
		*got = recvd;
	free(wbuf);
	free(rbuf);
	return r;
}

static double echo(int fd, size_t total)
{
	return echo_ex(fd, total, false, NULL);
}

/* ---- the GnuTLS PSK server (a child) ---- */

static int srv_key(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
	const gnutls_datum_t *k = gnutls_session_get_ptr(s);

	(void)user;
	key->data = gnutls_malloc(k->size);
	if (!key->data)
		return -1;
	memcpy(key->data, k->data, k->size);
	key->size = k->size;
	return 0;
}

static int srv_send_all(gnutls_session_t s, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = gnutls_record_send(s, p, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int srv_close_first(gnutls_session_t s)
{
	unsigned char buf[CHUNK];
	size_t off;

	for (off = 0; off < SMALL_TOTAL; off += CHUNK) {
		pattern_fill(buf, off, CHUNK);
		if (srv_send_all(s, buf, CHUNK) < 0)
			return -1;
	}
	return gnutls_bye(s, GNUTLS_SHUT_WR);
}

/* Ask for a KeyUpdate at each KU_EVERY bytes. */
static void srv_key_update(gnutls_session_t s, enum srv_mode mode,
			   struct srv_report *r)
{
	if (mode == SRV_KEYUPDATE &&
	    r->rx / KU_EVERY > (unsigned long long)r->ku_asked &&
	    gnutls_session_key_update(s, GNUTLS_KU_PEER) == 0)
		r->ku_asked++;
}

/* GnuTLS calls this for each handshake message: count the client's
 * KeyUpdates (the report is the session's pointer while the loop runs). */
static int srv_hook(gnutls_session_t s, unsigned int htype, unsigned int when,
		    unsigned int incoming, const gnutls_datum_t *msg)
{
	struct srv_report *r = gnutls_session_get_ptr(s);

	(void)when;
	(void)msg;
	if (htype == GNUTLS_HANDSHAKE_KEY_UPDATE && incoming)
		r->ku_seen++;
	return 0;
}

static void srv_loop(gnutls_session_t s, enum srv_mode mode,
		     struct srv_report *r)
{
	bool echo_on = mode != SRV_CLOSE_FIRST;
	char buf[16384];
	ssize_t n;

	gnutls_session_set_ptr(s, r);	/* the PSK was looked up */
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_KEY_UPDATE,
					   GNUTLS_HOOK_POST, srv_hook);

	for (;;) {
		n = gnutls_record_recv(s, buf, sizeof(buf));
		if (n == 0) {
			r->clean = 1;
			return;
		}
		if (n < 0 && !gnutls_error_is_fatal((int)n))
			continue;
		if (n < 0)
			return;
		r->rx += (unsigned long long)n;
		/* the request goes before the echo: the pump reads it before
		 * the data that lets the kernel side send again, so the next
		 * chunk carries the answer (after the echo, a late request
		 * could miss the last chunk) */
		if (echo_on)
			srv_key_update(s, mode, r);
		/* once the client is gone, keep counting what it sent */
		if (echo_on && srv_send_all(s, buf, (size_t)n) < 0)
			echo_on = false;
	}
}

static void __attribute__((noreturn))
server_main(int fd, int rep, enum srv_mode mode, const gnutls_datum_t *key)
{
	gnutls_psk_server_credentials_t cred;
	struct srv_report r;
	gnutls_session_t s;
	int ret;

	memset(&r, 0, sizeof(r));	/* the padding goes down the pipe too */
	alarm(CASE_TIMEOUT);
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_psk_allocate_server_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
		_exit(3);
	gnutls_psk_set_server_credentials_function(cred, srv_key);
	gnutls_priority_set_direct(s, PRIO, NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred);
	gnutls_session_set_ptr(s, (void *)key);
	gnutls_transport_set_int(s, fd);
	do
		ret = gnutls_handshake(s);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0)
		_exit(4);
	if (mode == SRV_CLOSE_FIRST && srv_close_first(s) < 0)
		_exit(5);
	srv_loop(s, mode, &r);
	if (write(rep, &r, sizeof(r)) != sizeof(r))
		_exit(6);
	_exit(0);
}

/* ---- fixture: server child + handshaken client session ---- */

static int client_handshake(struct fixture *f, const gnutls_datum_t *key)
{
	int r;

	if (gnutls_psk_allocate_client_credentials(&f->cred) < 0 ||
	    gnutls_psk_set_client_credentials(f->cred, "test", key,
					      GNUTLS_PSK_KEY_RAW) < 0 ||
	    gnutls_init(&f->cli, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0 ||
	    gnutls_priority_set_direct(f->cli, PRIO, NULL) < 0 ||
	    gnutls_credentials_set(f->cli, GNUTLS_CRD_PSK, f->cred) < 0)
		return -1;
	gnutls_transport_set_int(f->cli, f->net[0]);
	do
		r = gnutls_handshake(f->cli);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		printf("# client handshake: %s\n", gnutls_strerror(r));
	return r;
}

static void client_free(struct fixture *f)
{
	if (f->cli)
		gnutls_deinit(f->cli);	/* sends nothing */
	if (f->cred)
		gnutls_psk_free_client_credentials(f->cred);
	f->cli = NULL;
	f->cred = NULL;
}

static int fixture_start(struct fixture *f, enum srv_mode mode,
			 const gnutls_datum_t *key)
{
	int rep[2];

	memset(f, 0, sizeof(*f));
	f->pump_rep = f->pump_pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->net) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, f->kern) < 0 ||
	    pipe(rep) < 0)
		return -1;
	fflush(stdout);
	f->srv_pid = fork();
	if (f->srv_pid < 0)
		return -1;
	if (f->srv_pid == 0) {
		close(rep[0]);
		close(f->net[0]);
		close(f->kern[0]);
		close(f->kern[1]);
		server_main(f->net[1], rep[1], mode, key);
	}
	close(rep[1]);
	close(f->net[1]);
	f->srv_rep = rep[0];
	return client_handshake(f, key);
}

/* Fork pump_run(cli, N[0], K[0]); the test keeps only K[1]. */
static int pump_start(struct fixture *f)
{
	struct pump_report r;
	int rep[2];

	if (pipe(rep) < 0)
		return -1;
	fflush(stdout);
	f->pump_pid = fork();
	if (f->pump_pid < 0)
		return -1;
	if (f->pump_pid == 0) {
		alarm(CASE_TIMEOUT);
		close(rep[0]);
		close(f->srv_rep);
		close(f->kern[1]);
		memset(&r, 0, sizeof(r));
		r.rc = pump_run(f->cli, f->net[0], f->kern[0], &r.st, &r.e);
		if (write(rep[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(rep[1]);
	close(f->net[0]);
	close(f->kern[0]);
	client_free(f);
	f->pump_rep = rep[0];
	return 0;
}

static void pump_collect(struct fixture *f, struct pump_report *r)
{
	memset(r, 0, sizeof(*r));
	r->rc = 99;
	if (read_full(f->pump_rep, r, sizeof(*r)) != sizeof(*r))
		snprintf(r->e.msg, sizeof(r->e.msg), "(no report from the pump)");
	close(f->pump_rep);
	is_int(wait_status(f->pump_pid), 0, "pump child exited normally");
}

static void srv_collect(struct fixture *f, struct srv_report *r)
{
	memset(r, 0, sizeof(*r));
	read_full(f->srv_rep, r, sizeof(*r));
	close(f->srv_rep);
	wait_status(f->srv_pid);
}

/* ---- the cases ---- */

static void test_echo(const gnutls_datum_t *key)
{
	struct pump_report pr;
	struct srv_report sr;
	struct fixture f;
	double t;

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_ECHO, key) == 0, "echo: TLS handshake");
	ok(pump_start(&f) == 0, "echo: pump started");
	set_nonblock(f.kern[1]);
	t = echo(f.kern[1], ECHO_TOTAL);
	ok(t >= 0, "echo: 16 MiB came back byte-exact");
	if (t > 0)
		printf("# throughput: 16 MiB echoed through the pump in %.3f s = %.1f MiB/s each way\n",
		       t, 16.0 / t);
	shutdown(f.kern[1], SHUT_WR);
	is_int(drain(f.kern[1], false), 0, "echo: EOF on the kernel side after close");
	pump_collect(&f, &pr);
	is_int(pr.rc, 0, "echo: pump_run returned 0 (%s)", pr.e.msg);
	is_int(pr.st.to_server, ECHO_TOTAL, "echo: to_server counted");
	is_int(pr.st.to_kernel, ECHO_TOTAL, "echo: to_kernel counted");
	srv_collect(&f, &sr);
	is_int(sr.rx, ECHO_TOTAL, "echo: server received everything");
	ok(sr.clean, "echo: server got close_notify");
	close(f.kern[1]);
	alarm(0);
}

/* One chunk out, its echo back, then the next: GnuTLS sends the KeyUpdate
 * it owes with the next record, so each one asked has a record after it. */
static bool echo_lockstep(int fd, size_t total)
{
	static unsigned char out[CHUNK], in[CHUNK];
	size_t off;

	for (off = 0; off < total; off += CHUNK) {
		pattern_fill(out, off, CHUNK);
		if (write(fd, out, CHUNK) != CHUNK ||
		    read_full(fd, in, CHUNK) != CHUNK ||
		    !pattern_ok(in, off, CHUNK))
			return false;
	}
	return true;
}

/*
 * The server asks for a KeyUpdate every 192 KiB: GnuTLS answers from inside
 * the pump's record_recv (sent with the next record, into the pump's send
 * buffer), and each answer must reach the server while data flows.
 */
static void test_key_update(const gnutls_datum_t *key)
{
	struct pump_report pr;
	struct srv_report sr;
	struct fixture f;

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_KEYUPDATE, key) == 0, "keyupdate: TLS handshake");
	ok(pump_start(&f) == 0, "keyupdate: pump started");
	ok(echo_lockstep(f.kern[1], SMALL_TOTAL), "keyupdate: 1 MiB came back byte-exact");
	shutdown(f.kern[1], SHUT_WR);
	is_int(drain(f.kern[1], false), 0, "keyupdate: EOF on the kernel side after close");
	pump_collect(&f, &pr);
	is_int(pr.rc, 0, "keyupdate: pump_run returned 0 (%s)", pr.e.msg);
	srv_collect(&f, &sr);
	is_int(sr.rx, SMALL_TOTAL, "keyupdate: server received everything");
	ok(sr.clean, "keyupdate: server got close_notify");
	is_int(sr.ku_asked, SMALL_TOTAL / KU_EVERY, "keyupdate: the server asked for KeyUpdates");
	is_int(sr.ku_seen, sr.ku_asked, "keyupdate: each was answered, and the answer reached the server");
	close(f.kern[1]);
	alarm(0);
}

/* The kernel closes while data is still on its way to the server. */
static void test_kernel_closes_early(const gnutls_datum_t *key)
{
	struct pump_report pr;
	struct srv_report sr;
	struct fixture f;
	size_t got = 0;

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_ECHO, key) == 0, "flush: TLS handshake");
	ok(pump_start(&f) == 0, "flush: pump started");
	set_nonblock(f.kern[1]);
	/* shutdown right after the last byte: most is still on its way */
	ok(echo_ex(f.kern[1], SMALL_TOTAL, true, &got) >= 0,
	   "flush: 1 MiB written, then EOF (%zu bytes echoed before it)", got);
	pump_collect(&f, &pr);
	is_int(pr.rc, 0, "flush: pump_run returned 0 (%s)", pr.e.msg);
	is_int(pr.st.to_server, SMALL_TOTAL, "flush: everything went to GnuTLS");
	srv_collect(&f, &sr);
	is_int(sr.rx, SMALL_TOTAL, "flush: the server got all of it");
	ok(sr.clean, "flush: then close_notify");
	close(f.kern[1]);
	alarm(0);
}

static void test_server_closes(const gnutls_datum_t *key)
{
	struct pump_report pr;
	struct srv_report sr;
	struct fixture f;
	struct timespec pause = { 0, 200 * 1000 * 1000 };

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_CLOSE_FIRST, key) == 0,
	   "server closes: TLS handshake");
	ok(pump_start(&f) == 0, "server closes: pump started");
	nanosleep(&pause, NULL);	/* let the pump's buffers fill up */
	is_int(drain(f.kern[1], true), SMALL_TOTAL,
	       "server closes: kernel side gets all 1 MiB, then EOF");
	pump_collect(&f, &pr);
	is_int(pr.rc, 0, "server closes: pump_run returned 0 (%s)", pr.e.msg);
	is_int(pr.st.to_kernel, SMALL_TOTAL, "server closes: to_kernel counted");
	srv_collect(&f, &sr);
	ok(sr.clean, "server closes: the pump answered with close_notify");
	close(f.kern[1]);
	alarm(0);
}

static void test_server_killed(const gnutls_datum_t *key)
{
	struct pump_report pr;
	struct srv_report sr;
	struct fixture f;

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_ECHO, key) == 0, "killed: TLS handshake");
	ok(pump_start(&f) == 0, "killed: pump started");
	set_nonblock(f.kern[1]);
	ok(echo(f.kern[1], CHUNK) >= 0, "killed: echo works before");
	kill(f.srv_pid, SIGKILL);
	srv_collect(&f, &sr);
	is_int(drain(f.kern[1], false), 0, "killed: kernel side sees EOF");
	pump_collect(&f, &pr);
	is_int(pr.rc, -1, "killed: pump_run returned -1");
	is_str(pr.e.msg, "the server closed the TLS connection without close_notify",
	       "killed: error text");
	close(f.kern[1]);
	alarm(0);
}

static void test_datapath_plain(void)
{
	struct datapath_opts o = { .nofork_log_stderr = true, .ident = "t",
				   .null_fd = -1 };
	struct nbd_session s;
	struct datapath dp;
	struct nbd_err e = { "" };
	char buf[4] = "";
	int sp[2], status = -1;

	alarm(CASE_TIMEOUT);
	memset(&s, 0, sizeof(s));
	conn_init(&s.conn, 1000);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return;
	set_nonblock(sp[0]);
	s.conn.fd = sp[0];
	s.conn.peer = strdup("plain-test");
	is_int(datapath_open(&s.conn, &o, &dp, &e), 0, "plain: datapath_open (%s)",
	       e.msg);
	is_int(dp.kind, DATAPATH_PLAIN, "plain: kind PLAIN");
	is_int(dp.kernel_fd, sp[0], "plain: the kernel gets the socket itself");
	ok(!(fcntl(dp.kernel_fd, F_GETFL) & O_NONBLOCK), "plain: it is blocking");
	is_int(s.conn.fd, -1, "plain: the session no longer owns it");
	ok(write(dp.kernel_fd, "ping", 4) == 4 && read(sp[1], buf, 4) == 4 &&
	   !memcmp(buf, "ping", 4), "plain: bytes flow");
	datapath_handed_over(&dp);
	ok(dp.kernel_fd == -1 && dp.watch_fd == sp[0] && fd_is_open(sp[0]),
	   "plain: handed over, our copy kept to watch the link");
	is_int(datapath_alive(&dp), 1, "plain: alive while the peer is there");
	close(sp[1]);
	is_int(datapath_alive(&dp), 0, "plain: dead once the peer closed");
	status = -1;
	datapath_close(&dp, &status);
	ok(status == 0 && dp.watch_fd == -1 && !fd_is_open(sp[0]),
	   "plain: close releases the socket");
	nego_close(&s);
	alarm(0);
}

/* Open fds below our RLIMIT_NOFILE: valgrind keeps its own above it. */
static int count_fds(pid_t pid)
{
	struct rlimit lim = { 0, 0 };
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	getrlimit(RLIMIT_NOFILE, &lim);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.' &&
		     (unsigned long long)atoll(d->d_name) < lim.rlim_cur;
	closedir(dir);
	return n;
}

static void read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	buf[0] = 0;
	fp = fopen(path, "r");
	if (!fp)
		return;
	if (!fgets(buf, (int)len, fp))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(fp);
}

/* Whether this process may set oom_score_adj -1000 (tried in a child). */
static bool can_lower_oom_adj(void)
{
	pid_t pid;
	int fd;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open("/proc/self/oom_score_adj", O_WRONLY);
		_exit(fd >= 0 && write(fd, "-1000", 5) == 5 ? 0 : 1);
	}
	return pid > 0 && wait_status(pid) == 0;
}

/* How the proxy's mappings are locked: VMAs with "lo" (locked) and, of
 * those, with "lf" (only once faulted in, MCL_ONFAULT). */
static void lock_flags(pid_t pid, int *lo, int *lf)
{
	char path[64], line[512];
	FILE *fp;

	*lo = *lf = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "VmFlags:", 8) || !strstr(line, " lo "))
			continue;
		(*lo)++;
		if (strstr(line, " lf "))
			(*lf)++;
	}
	fclose(fp);
}

/* mlockall works here: as root, or under a large enough RLIMIT_MEMLOCK,
 * and not under ASan (its terabytes of shadow memory cannot be locked) */
static bool can_lock_all(void)
{
	struct rlimit rl;

#ifdef __SANITIZE_ADDRESS__
	return false;
#endif
	return geteuid() == 0 ||
	       (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
		rl.rlim_cur == RLIM_INFINITY);
}

/* A TLS session through datapath_open; kill_server: abrupt end, and -s
 * (swap). */
static void test_datapath_proxy(const gnutls_datum_t *key, bool kill_server)
{
	struct datapath_opts o = { .nofork_log_stderr = true, .ident = "test0",
				   .null_fd = open("/dev/null", O_RDWR | O_CLOEXEC),
				   .swap = kill_server };
	const char *tag = kill_server ? "proxy/killed" : "proxy";
	struct nbd_session s;
	struct srv_report sr;
	struct datapath dp;
	struct fixture f;
	struct nbd_err e = { "" };
	char buf[64];
	int status = -1, net0;

	alarm(CASE_TIMEOUT);
	ok(fixture_start(&f, SRV_ECHO, key) == 0, "%s: TLS handshake", tag);
	memset(&s, 0, sizeof(s));
	conn_init(&s.conn, 1000);
	s.conn.fd = net0 = f.net[0];
	s.conn.tls = f.cli;
	s.conn.peer = strdup("echo-server");
	s.tls_active = true;
	f.cli = NULL;
	close(f.kern[0]);
	close(f.kern[1]);
	fflush(stdout);
	is_int(datapath_open(&s.conn, &o, &dp, &e), 0, "%s: datapath_open (%s)",
	       tag, e.msg);
	is_int(dp.kind, DATAPATH_PROXY, "%s: kind PROXY", tag);
	ok(dp.proxy_pid > 0, "%s: proxy pid %d", tag, (int)dp.proxy_pid);
	ok(s.conn.fd == -1 && !s.conn.tls, "%s: the session let go of it", tag);
	ok(!fd_is_open(net0), "%s: our copy of the server socket is closed", tag);
	read_proc(dp.proxy_pid, "comm", buf, sizeof(buf));
	is_str(buf, "nbd-proxy", "%s: process name", tag);
	is_int(count_fds(dp.proxy_pid), 6, "%s: proxy holds only stdio, server and kernel sockets, and its sandbox's report pipe", tag);
	if (can_lower_oom_adj()) {
		read_proc(dp.proxy_pid, "oom_score_adj", buf, sizeof(buf));
		is_str(buf, "-1000", "%s: proxy exempt from the OOM killer", tag);
	} else {
		ok(1, "%s: # SKIP lowering oom_score_adj needs CAP_SYS_RESOURCE", tag);
	}
	if (can_lock_all()) {
		int lo, lf;

		lock_flags(dp.proxy_pid, &lo, &lf);
		ok(lo > 0, "%s: the proxy's memory is locked (%d mappings)", tag, lo);
		is_int(lf, 0, "%s: all of it up front, not once touched", tag);
	} else {
		ok(1, "%s: # SKIP mlockall needs root or an unlimited RLIMIT_MEMLOCK, and no ASan", tag);
		ok(1, "%s: # SKIP mlockall needs root or an unlimited RLIMIT_MEMLOCK, and no ASan", tag);
	}
	set_nonblock(dp.kernel_fd);
	ok(echo(dp.kernel_fd, SMALL_TOTAL) >= 0, "%s: 1 MiB echoed through kernel_fd", tag);
	if (kill_server) {
		kill(f.srv_pid, SIGKILL);
		is_int(drain(dp.kernel_fd, false), 0, "%s: kernel side sees EOF", tag);
	}
	datapath_close(&dp, &status);
	ok(dp.proxy_pid == -1 && dp.kernel_fd == -1, "%s: datapath_close", tag);
	is_int(status, kill_server ? 1 : 0, "%s: proxy exit status", tag);
	srv_collect(&f, &sr);
	if (!kill_server)
		ok(sr.clean && sr.rx == SMALL_TOTAL, "%s: server got it all and close_notify", tag);
	nego_close(&s);
	client_free(&f);	/* the credentials stay ours */
	close(o.null_fd);
	alarm(0);
}

int main(void)
{
	unsigned char k[32];
	gnutls_datum_t key = { k, sizeof(k) };

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (gnutls_global_init() < 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, k, sizeof(k)) < 0) {
		printf("Bail out! GnuTLS init\n");
		return 1;
	}
	test_echo(&key);
	test_key_update(&key);
	test_kernel_closes_early(&key);
	test_server_closes(&key);
	test_server_killed(&key);
	test_datapath_plain();
	test_datapath_proxy(&key, false);
	test_datapath_proxy(&key, true);
	memset(k, 0, sizeof(k));
	gnutls_global_deinit();
	return tap_done();
}
