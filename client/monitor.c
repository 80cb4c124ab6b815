// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "kernel.h"
#include "monitor.h"
#include "nego.h"

#define BACKOFF_MAX_S 30
#define STATUS_POLL_MS 2000

int monitor_detach(void)
{
	int fd;

	if (setsid() < 0)
		return -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return chdir("/");
}

static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Reap any exited child (proxies we started, or inherited zombies). */
static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static bool proxy_alive(const struct datapath *dp)
{
	if (dp->kind != DATAPATH_PROXY || dp->proxy_pid <= 0)
		return false;
	/* not necessarily our child (started before the fork): ask the kernel */
	if (kill(dp->proxy_pid, 0) < 0)
		return false;
	switch (waitpid(dp->proxy_pid, NULL, WNOHANG)) {
	case 0:
		return true;		/* our child, still running */
	case -1:
		return errno == ECHILD;	/* someone else's child, alive */
	default:
		return false;		/* just reaped */
	}
}

static int device_connected(struct monitor *m)
{
	struct nbd_dev_status st;
	struct nbd_err e;
	size_t n = 0;

	if (nbd_nl_status(m->nl, m->index, &st, 1, &n, &e) < 0) {
		nbd_log(&m->log, LOG_WARNING, "%s", e.msg);
		return -1;
	}
	return n == 1 && st.connected;
}

/* Negotiate one new connection and give it to the kernel. */
static int reconnect_once(struct monitor *m, unsigned int slot,
			  struct nbd_err *e)
{
	struct datapath_opts o = { .nofork_log_stderr = m->cfg->nofork,
				   .swap = m->cfg->swap,
				   .ident = m->name };
	struct nbd_session s;
	struct datapath dp;
	int r = -1;

	nego_init(&s, m->cfg);
	if (nego_connect(&s, m->cfg, e) < 0)
		goto out;
	if (s.export.size != m->size) {
		err_set(e, "the export's size changed from %llu to %llu bytes; not reconnecting",
			(unsigned long long)m->size,
			(unsigned long long)s.export.size);
		r = -2;
		goto out;
	}
	if (datapath_open(&s, &o, &dp, e) < 0)
		goto out;
	if (nbd_nl_reconfigure(m->nl, m->index, &dp.kernel_fd, 1, 0, 0, e) < 0) {
		datapath_wait(&dp, NULL);
		goto out;
	}
	datapath_handed_over(&dp);
	m->dp[slot] = dp;
	r = 0;
out:
	nego_close(&s);
	return r;
}

/* Sleep up to ms, waking early for SIGTERM/SIGINT (returns 1 then). */
static int pause_ms(int sfd, int ms)
{
	struct pollfd p = { .fd = sfd, .events = POLLIN };
	struct signalfd_siginfo si;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return 1;
	reap();
	return 0;
}

/* Retry with exponential backoff while the device is still connected. */
static int reconnect(struct monitor *m, unsigned int slot, int sfd)
{
	struct nbd_err e;
	int delay = 1, r;

	for (;;) {
		r = device_connected(m);
		if (r == 0) {
			nbd_log(&m->log, LOG_INFO, "device disconnected; not reconnecting");
			return 1;
		}
		r = reconnect_once(m, slot, &e);
		if (r == 0) {
			nbd_log(&m->log, LOG_NOTICE, "reconnected connection %u", slot + 1);
			return 0;
		}
		nbd_log(&m->log, r == -2 ? LOG_ERR : LOG_WARNING,
			"reconnect: %s", e.msg);
		if (r == -2)
			return -1;
		if (pause_ms(sfd, delay * 1000))
			return 1;
		delay = delay * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay * 2;
	}
}

/* Drain LINK_DEAD messages; returns how many were for our device. */
static int link_dead_events(struct monitor *m)
{
	struct nbd_err e;
	int idx, r, n = 0;

	while ((r = nbd_nl_recv_link_dead(m->nl, &idx, &e)) != 0) {
		if (r < 0) {
			nbd_log(&m->log, LOG_WARNING, "%s", e.msg);
			break;
		}
		if (idx == m->index)
			n++;
	}
	return n;
}

static bool have_proxies(const struct monitor *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (m->dp[i].kind == DATAPATH_PROXY)
			return true;
	return false;
}

/* Find a TLS connection whose proxy is gone. */
static int dead_proxy(const struct monitor *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (m->dp[i].kind == DATAPATH_PROXY && !proxy_alive(&m->dp[i]))
			return (int)i;
	return -1;
}

static int netlink_loop(struct monitor *m, int sfd)
{
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
			       { .fd = nbd_nl_fd(m->nl), .events = POLLIN } };
	struct signalfd_siginfo si;
	bool tls = have_proxies(m), persist = m->cfg->persist;
	int slot;

	for (;;) {
		if (poll(p, 2, STATUS_POLL_MS) < 0 && errno != EINTR)
			return 1;
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				return 0;
		reap();
		/* plaintext: the kernel reports the dead socket */
		if (p[1].revents && link_dead_events(m) && persist && !tls &&
		    reconnect(m, 0, sfd))
			return 0;
		/* TLS: the proxy of the dead connection has exited */
		if (persist && tls && (slot = dead_proxy(m)) >= 0 &&
		    reconnect(m, (unsigned int)slot, sfd))
			return 0;
		if (device_connected(m) == 0) {
			nbd_log(&m->log, LOG_INFO, "device disconnected; exiting");
			return 0;
		}
	}
}

static int ioctl_loop(struct monitor *m)
{
	struct nbd_err e;
	int r = nbd_ioctl_do_it(m->devfd, &e);

	if (r < 0)
		nbd_log(&m->log, LOG_ERR, "%s", e.msg);
	return r < 0 ? 1 : 0;
}

int monitor_run(struct monitor *m)
{
	struct nbd_err e;
	int sfd, r;

	nbd_log(&m->log, LOG_INFO, "resident for /dev/%s%s", m->name,
		m->cfg->persist ? " (persist)" : "");
	if (!m->nl)
		return ioctl_loop(m);
	sfd = signals_fd();
	if (sfd < 0) {
		nbd_log(&m->log, LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}
	if (nbd_nl_subscribe_link_dead(m->nl, &e) < 0) {
		nbd_log(&m->log, LOG_ERR, "%s", e.msg);
		return 1;
	}
	r = netlink_loop(m, sfd);
	nbd_nl_close(m->nl);
	close(sfd);
	return r;
}
