// SPDX-License-Identifier: GPL-2.0-or-later
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "kernel.h"
#include "monitor.h"
#include "sandbox.h"
#include "sdnotify.h"

int monitor_detach(void)
{
	int fd;

	if (getsid(0) != getpid() && setsid() < 0)
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

int monitor_stop_signals(struct nbd_err *e)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return err_errno(e, errno, "signalfd");
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return fd;
}

void monitor_settle(struct nbd_device *d)
{
	/*
	 * glibc loads libgcc_s when a thread ends (getaddrinfo_a's resolver
	 * threads): load it now, while the file is there, or a resident
	 * process that resolves a name after switch_root aborts.
	 */
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		nbd_log(&d->log, LOG_INFO, "cannot preload libgcc_s.so.1: %s",
			dlerror());
	/* nbd@.service (Type=notify): attached now */
	if (sd_notify_ready(!d->cfg->nofork) < 0)
		nbd_log(&d->log, LOG_WARNING, "cannot tell systemd we are ready ($NOTIFY_SOCKET): %s",
			strerror(errno));
	if (d->cfg->swap && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		nbd_log(&d->log, LOG_WARNING, "mlockall: %s", strerror(errno));
	/* reconnecting must not wait on the writeback it is needed for */
	if (d->watched && nbd_mark_io_flusher() < 0)
		nbd_log(&d->log, LOG_INFO, "PR_SET_IO_FLUSHER: %s",
			strerror(errno));
}

/* SIGTERM or SIGINT arrived (the stop fd carries nothing else). */
static bool stop_requested(const struct nbd_device *d)
{
	struct pollfd p = { .fd = d->stop_fd, .events = POLLIN };

	return d->stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

static void link_died(struct nbd_device *d, unsigned int k)
{
	nbd_log(&d->log, LOG_WARNING, "connection %u died%s", k + 1,
		d->watched ? "; reconnecting" : "");
	device_link_dead(d, k);
	d->link[k].retry_at_ms = mono_ms() + MONITOR_GRACE_MS;
	d->link[k].backoff_s = 1;
}

/* One of our own links died: the kernel's LINK_DEAD event for it is due. */
static void own_link_died(struct nbd_device *d, unsigned int k)
{
	d->expect_events++;
	d->expect_until_ms = mono_ms() + MONITOR_EVENT_DUE_MS;
	link_died(d, k);
}

/*
 * A LINK_DEAD event for the device that no death of our own links
 * explains: an adopted link died (its socket is the kernel's alone, so the
 * event is all we learn).  Which one does not matter: the kernel puts a
 * new socket in the first dead slot, and drops it where none is (then the
 * link is adopted again, device_reconnect).
 */
static void adopted_died(struct nbd_device *d)
{
	unsigned int k;

	if (d->expect_events && mono_ms() <= d->expect_until_ms) {
		d->expect_events--;
		return;
	}
	d->expect_events = 0;
	for (k = 0; k < d->n; k++)
		if (d->link[k].state == LINK_ADOPTED) {
			link_died(d, k);
			return;
		}
}

/* Ask every attached link whether it is still alive. */
static void check_links(struct nbd_device *d)
{
	unsigned int k;

	for (k = 0; k < d->n; k++)
		if (d->link[k].state == LINK_ATTACHED &&
		    !datapath_alive(&d->link[k].dp))
			own_link_died(d, k);
}

/* Drain NBD_CMD_LINK_DEAD; lost events (ENOBUFS) only mean: check all. */
static void drain_events(struct nbd_device *d)
{
	unsigned int events = 0;
	struct nbd_err e;
	int idx, r;

	while ((r = nbd_nl_recv_link_dead(d->nl, &idx, &e)) != 0) {
		if (r < 0) {
			nbd_log(&d->log, LOG_INFO, "%s; checking every connection",
				e.msg);
			break;
		}
		events += idx == d->index;
	}
	/* our own links first: their deaths explain their events */
	check_links(d);
	while (events--)
		adopted_died(d);
}

static void backoff(struct link *l)
{
	l->retry_at_ms = mono_ms() + (int64_t)l->backoff_s * 1000;
	l->backoff_s = l->backoff_s * 2 > MONITOR_BACKOFF_MAX_S
			       ? MONITOR_BACKOFF_MAX_S
			       : l->backoff_s * 2;
}

/* A different export: reconnecting would corrupt it.  Give up for good. */
static int export_changed(struct nbd_device *d, const struct nbd_err *e)
{
	struct nbd_err ignored;

	nbd_log(&d->log, LOG_ERR, "%s; disconnecting /dev/%s instead of reconnecting",
		e->msg, d->name);
	nbd_nl_disconnect(d->nl, d->index, &ignored);
	return 1;
}

/* The request limit a reconnect found: its child is done (limit_done)
 * and the next one started (limit_kick, after the round's reconnects), or
 * the device goes, as for an export refused at once.  1: exit with
 * status 1. */
static int limit_done(struct nbd_device *d)
{
	struct nbd_err e;

	if (device_limit_done(d, &e) < 0)
		return export_changed(d, &e);
	return 0;
}

static int limit_kick(struct nbd_device *d)
{
	struct nbd_err e;

	if (device_limit_kick(d, &e) < 0)
		return export_changed(d, &e);
	return 0;
}

/* Reconnect every dead link that is due.  1: exit with status 1. */
static int reconnect_due(struct nbd_device *d)
{
	struct nbd_err e;
	unsigned int k;
	int r;

	for (k = 0; k < d->n; k++) {
		struct link *l = &d->link[k];

		if (l->state != LINK_DEAD || l->retry_at_ms > mono_ms())
			continue;
		if (stop_requested(d))
			return 0;
		r = device_reconnect(d, k, &e);
		if (r == DEVICE_EXPORT_CHANGED)
			return export_changed(d, &e);
		if (r == 0) {
			nbd_log(&d->log, LOG_NOTICE, "reconnected connection %u",
				k + 1);
			continue;
		}
		if (r == DEVICE_NOT_TAKEN) {
			nbd_log(&d->log, LOG_INFO, "connection %u: the kernel had no dead connection to replace; its own is alive",
				k + 1);
			continue;
		}
		nbd_log(&d->log, LOG_WARNING, "reconnecting connection %u: %s",
			k + 1, e.msg);
		backoff(l);
	}
	return 0;
}

/* Until the next link is due for a reconnect, or the status poll. */
static int next_wait_ms(const struct nbd_device *d)
{
	int64_t now = mono_ms(), wait = MONITOR_STATUS_POLL_MS;
	unsigned int k;

	if (!d->watched)
		return (int)wait;
	for (k = 0; k < d->n; k++)
		if (d->link[k].state == LINK_DEAD &&
		    d->link[k].retry_at_ms - now < wait)
			wait = d->link[k].retry_at_ms - now;
	return wait < 0 ? 0 : (int)wait;
}

/* One round: wait for something, handle it.  1: done (status in *st). */
static int monitor_round(struct nbd_device *d, int *st)
{
	struct pollfd p[3 + DEVICE_MAX_LINKS];
	unsigned int which[3 + DEVICE_MAX_LINKS], n = 0, i;

	p[n++] = (struct pollfd){ .fd = d->stop_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = nbd_nl_fd(d->nl), .events = POLLIN };
	/* -1 (none running): poll skips it */
	p[n++] = (struct pollfd){ .fd = device_limit_fd(d), .events = POLLIN };
	for (i = 0; i < d->n; i++) {
		if (d->link[i].state != LINK_ATTACHED)
			continue;
		which[n] = i;
		p[n++] = (struct pollfd){
			.fd = d->link[i].dp.watch_fd,
			.events = datapath_watch_events(&d->link[i].dp)
		};
	}
	if (poll(p, n, next_wait_ms(d)) < 0 && errno != EINTR)
		return *st = 1;
	/* proxies whose links were closed before they had quite exited */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (p[0].revents) {
		nbd_log(&d->log, LOG_INFO, "stopping on a signal; /dev/%s stays attached",
			d->name);
		return 1;
	}
	for (i = 3; i < n; i++)
		if (p[i].revents)
			own_link_died(d, which[i]);
	if (p[1].revents)
		drain_events(d);
	if (p[2].revents && limit_done(d))
		return *st = 1;
	if (device_connected(d) == 0) {
		nbd_log(&d->log, LOG_INFO, "/dev/%s was disconnected; exiting",
			d->name);
		return 1;
	}
	if (d->watched && (reconnect_due(d) || limit_kick(d)))
		return *st = 1;
	return 0;
}

static int ioctl_loop(struct nbd_device *d)
{
	struct nbd_err e;
	sigset_t set;
	int r;

	/* NBD_DO_IT blocks in the kernel: SIGTERM must end it as it always
	 * did, not wait in the stop fd */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	r = nbd_ioctl_do_it(d->devfd, &e);

	if (r < 0)
		nbd_log(&d->log, LOG_ERR, "%s", e.msg);
	return r < 0 ? 1 : 0;
}

/*
 * Resident from here on, everything opened that a reconnect needs: keep
 * only what reconnects need (sandbox.c).  A failure leaves the device
 * watched, unsandboxed, and says so.
 */
static void sandbox(struct nbd_device *d)
{
	struct nbd_err e;

	if (d->cfg->no_sandbox)
		return;
	if (sandbox_monitor(&e) < 0)
		nbd_log(&d->log, LOG_ERR, "%s; going on without", e.msg);
}

int monitor_run(struct nbd_device *d)
{
	int st = 0;

	nbd_log(&d->log, LOG_INFO, "resident for /dev/%s (%u connection%s%s)",
		d->name, d->n, d->n == 1 ? "" : "s",
		d->cfg->persist ? ", persist"
		: d->watched	? ", reconnecting (-swap or kernel TLS)"
				: "");
	sandbox(d);
	if (!d->nl)
		return ioctl_loop(d);
	while (!monitor_round(d, &st))
		;
	return st;
}
