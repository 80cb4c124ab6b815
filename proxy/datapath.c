// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Plaintext: the negotiated socket goes to the kernel as it is.
 * TLS: socketpair(); the kernel gets one end, and a forked proxy process
 * pumps between the other end and the TLS session (pump.c).
 *
 * The proxy is what the kernel's I/O depends on, so it is locked in memory,
 * exempt from the OOM killer, in its own session (a terminal hangup does not
 * kill it), and it keeps no fd it does not need (so EOF on the server and
 * kernel sides reaches it).  It reports "ready" or its set-up error to the
 * parent over a pipe before datapath_open returns, then logs one line at
 * start, one at exit, and one per problem: to syslog, or to stderr with -n.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>

#include <unistd.h>

#include "datapath.h"
#include "deadline.h"
#include "ktls.h"
#include "pump.h"
#include "log.h"
#include "sandbox.h"
#include "tls.h"

#define READY_OK 'R'
#define READY_ERR 'E'

/* ---- set-up of the proxy process ---- */

static void proxy_signals(void)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGQUIT, SIGCHLD,
				   SIGALRM, SIGUSR1, SIGUSR2 };
	sigset_t none;
	size_t i;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		signal(dfl[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

/* Move fd out of 0..2, which are about to be pointed at /dev/null. */
static int above_stdio(int fd)
{
	return fd > STDERR_FILENO ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/*
 * fds[0..2]: net, plain, ready; moved above 2 if needed.  stdin and stdout
 * go to /dev/null (null_fd, opened while there was a /dev: after
 * switch_root a resident process may see none), and stderr too unless we
 * log there.
 */
static int proxy_fds(int fds[3], int null_fd, bool keep_stderr)
{
	bool stderr_ours = false;
	int i, null;

	for (i = 0; i < 3; i++) {
		if (fds[i] == STDERR_FILENO)
			stderr_ours = true;	/* stderr was closed */
		fds[i] = above_stdio(fds[i]);
		if (fds[i] < 0)
			return -1;
	}
	null = null_fd >= 0 ? null_fd : open("/dev/null", O_RDWR);
	if (null < 0)
		return -1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	if (!keep_stderr || stderr_ours)
		dup2(null, STDERR_FILENO);
	sandbox_close_others(fds, 3);
	return 0;
}

static void set_oom_adj(const struct nbd_log *l)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "-1000", 5) != 5)
		nbd_log(l, LOG_WARNING, "cannot exempt the proxy from the OOM killer (oom_score_adj -1000): %s",
		     strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* What the proxy may still allocate when RLIMIT_MEMLOCK stays: its four
 * pump buffers and room for GnuTLS and syslog. */
#define PROXY_HEAP_RESERVE (4 * PUMP_BUF_SIZE + 2 * 1024 * 1024)

/*
 * MCL_FUTURE locks every later allocation too, and without CAP_IPC_LOCK
 * (the sandbox drops it) the kernel refuses mappings past RLIMIT_MEMLOCK:
 * the pump's buffers and GnuTLS's records must still come.  Lift the
 * limit (the hard one needs CAP_SYS_RESOURCE, which the proxy still has
 * here); where that is refused, grow the heap now, locked, keep it
 * (no trimming) and serve every later allocation from it (no mmap).
 */
static void unlimit_memlock(const struct nbd_log *l)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	void *p;

	if (setrlimit(RLIMIT_MEMLOCK, &r) == 0)
		return;
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_MMAP_MAX, 0);
	p = malloc(PROXY_HEAP_RESERVE);
	if (!p)
		nbd_log(l, LOG_WARNING, "cannot reserve the proxy's memory before its sandbox: %s",
			strerror(errno));
	free(p);
}

/* Everything the kernel's I/O depends on.  Only -s makes a failure fatal. */
static int proxy_harden(const struct datapath_opts *o,
			const struct nbd_log *l, struct nbd_err *e)
{
	if (setsid() < 0)
		nbd_log(l, LOG_WARNING, "setsid: %s", strerror(errno));
	if (!o->nofork_log_stderr && chdir("/") < 0)
		nbd_log(l, LOG_WARNING, "chdir /: %s", strerror(errno));
	prctl(PR_SET_NAME, "nbd-proxy", 0, 0, 0);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		if (o->swap)
			return err_errno(e, errno, "cannot lock the TLS proxy in memory, which swap needs");
		nbd_log(l, LOG_WARNING, "cannot lock the proxy in memory (under memory pressure the device may stall): %s",
		     strerror(errno));
	} else if (!o->no_sandbox) {
		unlimit_memlock(l);
	}
	set_oom_adj(l);
	/*
	 * The kernel's writeback waits on this process: mark it an I/O
	 * flusher so its own allocations never recurse into that writeback
	 * (GFP_NOIO), which is what deadlocks swap or a full page cache.
	 */
	if (nbd_mark_io_flusher() < 0)
		nbd_log(l, o->swap ? LOG_WARNING : LOG_INFO,
			"cannot mark the proxy as an I/O flusher (PR_SET_IO_FLUSHER): %s%s",
			strerror(errno),
			o->swap ? "; swap over TLS can deadlock under memory pressure" : "");
	return 0;
}

static void ready_send(int fd, const char *err_msg)
{
	char buf[NBD_ERR_MAX + 1];
	size_t n = 1;

	buf[0] = err_msg ? READY_ERR : READY_OK;
	if (err_msg) {
		n += strnlen(err_msg, NBD_ERR_MAX - 1);
		memcpy(buf + 1, err_msg, n - 1);
	}
	if (write(fd, buf, n) < 0)
		return;
}

/* The proxy process.  Never returns. */
static void __attribute__((noreturn))
proxy_main(struct nbd_conn *c, int plain_fd, int ready_fd,
	   const struct datapath_opts *o)
{
	struct nbd_log l = { .to_stderr = o->nofork_log_stderr,
			     .ident = o->ident ? o->ident : "nbd",
			     .role = "proxy" };
	int fds[3] = { c->fd, plain_fd, ready_fd };
	struct pump_stats st = { 0, 0 };
	struct nbd_err e = { "" };
	char desc[128];
	int r;

	proxy_signals();
	closelog();	/* the parent's syslog fd, if any, is about to go */
	if (proxy_fds(fds, o->null_fd, l.to_stderr) < 0) {
		err_errno(&e, errno, "cannot set up the TLS proxy's files");
		goto fail;
	}
	gnutls_transport_set_int(c->tls, fds[0]);
	if (!l.to_stderr)
		openlog("nbd-client", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (proxy_harden(o, &l, &e) < 0)
		goto fail;
	tls_describe(c->tls, desc, sizeof(desc));
	nbd_log(&l, LOG_INFO, "started for %s (%s)",
	     c->peer ? c->peer : "the server", desc);
	/* from here on it only pumps; the ready pipe stays open for the
	 * sandbox's report of a forbidden call */
	if (!o->no_sandbox && sandbox_proxy(fds[2], &e) < 0)
		goto fail;
	ready_send(fds[2], NULL);

	r = pump_run(c->tls, fds[0], fds[1], &st, &e);
	if (r < 0)
		nbd_log(&l, LOG_ERR, "stopped: %s; %llu bytes to the server, %llu to the kernel",
		     e.msg, st.to_server, st.to_kernel);
	else
		nbd_log(&l, LOG_INFO, "stopped: connection closed; %llu bytes to the server, %llu to the kernel",
		     st.to_server, st.to_kernel);
	conn_release(c);	/* GnuTLS memory; pump_run said goodbye */
	sandbox_exit(r < 0 ? 1 : 0);
fail:
	nbd_log(&l, LOG_ERR, "%s", e.msg);
	ready_send(fds[2], e.msg);
	sandbox_exit(1);
}

/* ---- the parent's side ---- */

static int reap_status(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int reap(pid_t pid)
{
	int ws = 0;

	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return reap_status(ws);
}

/* Give up on a proxy that does not start: it is our child, kill it. */
static int ready_fail(pid_t pid, bool kill_it, struct nbd_err *e)
{
	int st;

	if (kill_it)
		kill(pid, SIGKILL);
	st = reap(pid);
	if (kill_it)
		return -1;
	return err_set(e, "the TLS proxy exited while starting (status %d)",
		       st);
}

/* Wait for the proxy's "ready" (or its error), within a deadline. */
static int ready_wait(int fd, pid_t pid, int stop_fd, struct nbd_err *e)
{
	struct deadline dl = deadline_in(DATAPATH_READY_TIMEOUT_MS);
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = stop_fd, .events = POLLIN } };
	char buf[NBD_ERR_MAX + 1];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(buf) - 1) {
		int r = poll(p, stop_fd >= 0 ? 2 : 1, deadline_left_ms(dl));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			err_set(e, "the TLS proxy did not start within %d s",
				DATAPATH_READY_TIMEOUT_MS / 1000);
			return ready_fail(pid, true, e);
		}
		if (stop_fd >= 0 && p[1].revents) {
			err_set(e, "stopped while the TLS proxy was starting");
			return ready_fail(pid, true, e);
		}
		/* the first byte alone: after READY_OK the pipe carries the
		 * sandbox's report, which must stay there */
		n = read(fd, buf + got, got ? sizeof(buf) - 1 - got : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (buf[0] == READY_OK)
			break;	/* the pipe stays open: sandbox reports */
	}
	buf[got] = 0;
	if (got && buf[0] == READY_OK)
		return 0;
	if (got > 1 && buf[0] == READY_ERR) {
		reap(pid);
		return err_set(e, "the TLS proxy could not start: %s", buf + 1);
	}
	return ready_fail(pid, false, e);
}

static int open_proxy(struct nbd_conn *c, const struct datapath_opts *o,
		      struct datapath *dp, struct nbd_err *e)
{
	int sp[2], rp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return err_errno(e, errno, "cannot create the socket pair for the TLS proxy");
	if (pipe2(rp, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot create a pipe for the TLS proxy");
		goto fail_sp;
	}
	pid = fork();
	if (pid < 0) {
		err_errno(e, errno, "cannot start the TLS proxy");
		goto fail_rp;
	}
	if (pid == 0) {
		close(sp[0]);
		close(rp[0]);
		proxy_main(c, sp[1], rp[1], o);
	}
	close(sp[1]);
	close(rp[1]);
	if (ready_wait(rp[0], pid, c->stop_fd, e) < 0) {
		close(rp[0]);
		close(sp[0]);
		return -1;
	}
	fcntl(rp[0], F_SETFL, O_NONBLOCK);
	dp->report_fd = rp[0];
	/* the proxy owns the TLS connection now: forget our copy, silently */
	close(c->fd);
	conn_release(c);
	dp->kind = DATAPATH_PROXY;
	dp->kernel_fd = sp[0];
	dp->proxy_pid = pid;
	return 0;
fail_rp:
	close(rp[0]);
	close(rp[1]);
fail_sp:
	close(sp[0]);
	close(sp[1]);
	return -1;
}

static int make_blocking(int fd, struct nbd_err *e)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return err_errno(e, errno, "cannot make the socket blocking for the kernel");
	return 0;
}

static int open_plain(struct nbd_conn *c, struct datapath *dp,
		      struct nbd_err *e)
{
	int fd = c->fd;

	if (make_blocking(fd, e) < 0)
		return -1;
	conn_release(c);
	dp->kind = DATAPATH_PLAIN;
	dp->kernel_fd = fd;
	dp->proxy_pid = -1;
	return 0;
}

/*
 * The kernel takes the session over: no close_notify (the kernel owns the
 * record stream now), just GnuTLS's memory.  With auto, a kernel that
 * cannot leaves the socket as it was and the proxy takes it.
 */
static int open_ktls(struct nbd_conn *c, const struct datapath_opts *o,
		     struct datapath *dp, struct nbd_err *e)
{
	struct nbd_err why = { "" };
	bool unavailable;

	if (ktls_program(c->fd, c->tls, &unavailable, &why) < 0) {
		if (unavailable)	/* the reason, also for a caller of ON */
			snprintf(dp->no_ktls, sizeof(dp->no_ktls), "%s",
				 why.msg);
		if (!unavailable || o->ktls == KTLS_ON)
			return err_set(e, "%s", why.msg);
		return 1;
	}
	if (make_blocking(c->fd, e) < 0)
		return -1;
	dp->kind = DATAPATH_KTLS;
	dp->kernel_fd = c->fd;
	conn_release(c);	/* GnuTLS's memory, no close_notify */
	return 0;
}

int datapath_open(struct nbd_conn *c, const struct datapath_opts *o,
		  struct datapath *dp, struct nbd_err *e)
{
	int r;

	dp->kernel_fd = -1;
	dp->watch_fd = -1;
	dp->proxy_pid = -1;
	dp->report_fd = -1;
	dp->tls_desc[0] = 0;
	dp->no_ktls[0] = 0;
	dp->sandbox_call[0] = 0;
	if (c->fd < 0)
		return err_set(e, "no connection to hand to the kernel");
	if (!c->tls)
		return open_plain(c, dp, e);
	tls_describe(c->tls, dp->tls_desc, sizeof(dp->tls_desc));
	if (o->ktls == KTLS_ON || o->ktls == KTLS_AUTO) {
		r = open_ktls(c, o, dp, e);
		if (r <= 0)
			return r;
	}
	return open_proxy(c, o, dp, e);
}

const char *datapath_kind_name(enum datapath_kind k)
{
	switch (k) {
	case DATAPATH_PLAIN:
		return "plaintext";
	case DATAPATH_PROXY:
		return "TLS proxy";
	case DATAPATH_KTLS:
		return "kernel TLS";
	}
	return "?";
}

void datapath_handed_over(struct datapath *dp)
{
	/* Keep our copy of the kernel's socket: its state is the link's.
	 * The kernel shuts it down when it marks the link dead, whatever
	 * killed it: the server, a TLS proxy that died, a request timeout. */
	dp->watch_fd = dp->kernel_fd;
	dp->kernel_fd = -1;
}

short datapath_watch_events(const struct datapath *dp)
{
	(void)dp;
	return 0;	/* POLLHUP and POLLERR are always reported */
}

int datapath_alive(const struct datapath *dp)
{
	struct pollfd p = { .fd = dp->watch_fd,
			    .events = datapath_watch_events(dp) };

	if (dp->watch_fd < 0)
		return 0;
	return poll(&p, 1, 0) == 0;
}

void datapath_close(struct datapath *dp, int *status)
{
	bool handed_over = dp->watch_fd >= 0;
	int ws, st = 0;
	pid_t r;

	if (dp->kernel_fd >= 0)
		close(dp->kernel_fd);
	if (dp->watch_fd >= 0)
		close(dp->watch_fd);
	dp->kernel_fd = -1;
	dp->watch_fd = -1;
	/* written before the proxy exited, so before its socket closed */
	if (!sandbox_report_read(dp->report_fd, dp->sandbox_call,
				 sizeof(dp->sandbox_call)))
		dp->sandbox_call[0] = 0;
	if (dp->report_fd >= 0)
		close(dp->report_fd);
	dp->report_fd = -1;
	if (dp->proxy_pid > 0) {
		do
			r = waitpid(dp->proxy_pid, &ws,
				    handed_over ? WNOHANG : 0);
		while (r < 0 && errno == EINTR);
		st = r > 0 ? reap_status(ws) : r == 0 ? -1 : 0;
		dp->proxy_pid = -1;
	}
	if (status)
		*status = st;
}
