// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd-client host [port] [device]: the command.  It runs the pipeline
 * (device.c) and then either exits or stays resident (monitor.c).
 *
 * A resident process (-persist, TLS, the ioctl interface, -nofork) is
 * forked before anything is negotiated, so that it is the parent of every
 * TLS proxy, holds the netlink subscription from before NBD_CMD_CONNECT,
 * and runs the same pipeline for the first attach as for every reconnect.
 * It is also the task that starts the device (NBD_CMD_CONNECT or
 * NBD_DO_IT), so /sys/block/nbdN/pid, which -c prints and scripts keep
 * alive at shutdown, names a process that lives as long as the device.
 * Until the device is attached it keeps the command's stdout and stderr
 * (its messages are the command's); then it tells the waiting command
 * "attached" or "failed" over a pipe, and the command exits with that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "device.h"
#include "kernel.h"
#include "monitor.h"
#include "optreply.h"
#include "proto.h"
#include "reserve.h"

#define ATTACHED_OK '0'
#define ATTACHED_FAILED '1'

static int validate(const struct nbd_config *cfg, struct nbd_err *e)
{
	if (cfg->preinit && cfg->tls.enabled)
		return err_set(e, "-preinit skips negotiation, so it cannot be combined with TLS");
	if (cfg->preinit && !cfg->size)
		return err_set(e, "-preinit needs the size: pass -size BYTES");
	if (cfg->nonetlink && cfg->connections > 1)
		return err_set(e, "-connections needs the netlink interface; drop -nonetlink");
	if (cfg->nonetlink && !cfg->device)
		return err_set(e, "the ioctl interface (-nonetlink) needs a device, e.g. /dev/nbd0");
	if (cfg->nonetlink && cfg->persist)
		return err_set(e, "-persist needs the netlink interface (NBD_CMD_RECONFIGURE); drop -nonetlink");
	if (cfg->nonetlink && cfg->identifier)
		return err_set(e, "-identifier needs the netlink interface; drop -nonetlink");
	return 0;
}

/*
 * -persist needs someone to reconnect, the ioctl interface a process in
 * NBD_DO_IT, and -nofork means "stay in the foreground until the device is
 * disconnected" (systemd Type=simple).  TLS: a proxy must have a parent
 * that reaps it and is the device's pid in sysfs, not a command that has
 * exited; a kernel TLS link is watched and reconnected, as is every link
 * of root and swap (-swap): an outage must not become I/O errors there.
 */
static bool needs_resident(const struct nbd_config *cfg)
{
	return cfg->persist || cfg->swap || cfg->nonetlink || cfg->nofork ||
	       cfg->tls.enabled;
}

/* The command's half: wait for the resident process's verdict. */
static int await_resident(int fd, pid_t pid, struct nbd_err *e)
{
	char c = 0;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 1 && c == ATTACHED_OK)
		return 0;
	if (n == 1 && c == ATTACHED_FAILED)
		return ATTACH_REPORTED;	/* it printed why */
	waitpid(pid, NULL, WNOHANG);
	return err_set(e, "the resident process died while attaching");
}

static void tell_command(int *fd, char verdict)
{
	if (*fd < 0)
		return;
	if (write(*fd, &verdict, 1) < 0)
		return;	/* the command is gone; nothing to tell */
	close(*fd);
	*fd = -1;
}

/* Once resident: the log is ours, the terminal no longer. */
static void become_resident(struct nbd_device *d, int *verdict_fd)
{
	d->resident = true;
	fflush(stdout);
	if (!d->cfg->nofork && monitor_detach() < 0)
		nbd_log(&d->log, LOG_WARNING, "cannot detach from the terminal: %s",
			strerror(errno));
	tell_command(verdict_fd, ATTACHED_OK);
	monitor_settle(d);
}

/* -swap: the kernel's reserves for writing swap out (reserve.h); the
 * resident process says what it raised, a failure is a warning here */
static void raise_reserve(struct nbd_device *d, struct swap_reserve *res)
{
	struct nbd_err why = { "" };
	unsigned int links = d->cfg->connections ? d->cfg->connections : 1;

	if (swap_reserve_raise("/proc", links, res, &why) < 0)
		device_warn(d, "%s; swap over the network can stall under memory pressure", why.msg);
}

static void print_warnings(struct nbd_device *d)
{
	unsigned int i;

	for (i = 0; i < d->nwarnings; i++)
		fprintf(stderr, "nbd-client: warning: %s\n", d->warnings[i]);
	d->nwarnings = 0;
}

/* The pipeline, then residence if needed.  Returns the exit status's
 * sign as attach_run does. */
static int run_device(const struct nbd_config *cfg, char **argv,
		      bool resident, int verdict_fd, struct nbd_err *e)
{
	struct nbd_device d;
	struct swap_reserve res = { 0, 0 };
	int r = -1;

	if (device_init(&d, cfg, e) < 0)
		goto out;
	d.argv = argv;	/* recorded for an adopter */
	if (resident && (d.stop_fd = monitor_stop_signals(e)) < 0)
		goto out;
	r = device_attach(&d, e);
	if (r == 0 && cfg->swap)
		raise_reserve(&d, &res);
	if (r == 0 && d.no_ktls[0])
		device_warn(&d, "kernel TLS not used: %s; a TLS proxy process carries the data (--ktls=off says so quietly)",
			    d.no_ktls);
	if (r == 0 && cfg->swap && device_has_proxy(&d))
		device_warn(&d, "swap over TLS goes through a TLS proxy (--ktls=off): under memory pressure it can deadlock, since only kernel TLS gets the kernel's memory reserves");
	print_warnings(&d);
	if (r < 0)
		goto out;
	printf("Connected /dev/nbd%d\n", d.index);
	r = 0;
	/* the kernel may have told us late that it has no netlink */
	if (!resident && !d.nl) {
		resident = true;
		if (!cfg->nofork) {
			pid_t pid = fork();

			if (pid < 0) {
				r = err_errno(e, errno, "cannot start the resident process for NBD_DO_IT");
				goto out;
			}
			if (pid > 0)
				goto out;
		}
	}
	if (resident) {
		become_resident(&d, &verdict_fd);
		if (res.to_kb)
			nbd_log(&d.log, LOG_NOTICE, "raised vm.min_free_kbytes from %lu to %lu: swap over the network needs the kernel's reserves (nbd-client(8), -swap)",
				res.from_kb, res.to_kb);
		device_log_links(&d);
		r = monitor_run(&d) == 0 ? 0 : ATTACH_REPORTED;
	}
out:
	if (verdict_fd >= 0) {
		/* failed before residence: say it here, where stderr is */
		if (r == -1)
			fprintf(stderr, "nbd-client: %s\n", e->msg);
		fflush(stdout);
		tell_command(&verdict_fd, r == 0 ? ATTACHED_OK : ATTACHED_FAILED);
		if (r == -1)
			r = ATTACH_REPORTED;
	}
	device_close(&d);
	if (d.stop_fd >= 0)
		close(d.stop_fd);
	return r;
}

int attach_run(const struct nbd_config *cfg, char **argv, struct nbd_err *e)
{
	bool resident = needs_resident(cfg);
	int pfd[2], r;
	pid_t pid;

	if (validate(cfg, e) < 0 || nbd_require_admin("attach", e) < 0)
		return -1;
	/* before any fork, so the resident process and proxies carry it */
	if (cfg->systemd_mark && argv && argv[0] && argv[0][0])
		argv[0][0] = '@';
	if (!resident || cfg->nofork)
		return run_device(cfg, argv, resident, -1, e);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_errno(e, errno, "cannot create a pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_errno(e, errno, "cannot start the resident process");
	}
	if (pid > 0) {
		close(pfd[1]);
		return await_resident(pfd[0], pid, e);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return err_errno(e, errno, "setsid");
	r = run_device(cfg, argv, true, pfd[1], e);
	exit(r == 0 ? 0 : 1);
}
