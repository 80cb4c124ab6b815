// SPDX-License-Identifier: GPL-2.0-or-later
/* nbd-client --adopt nbdN: see adopt.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adopt.h"
#include "argsfile.h"
#include "attach.h"
#include "cli.h"
#include "deadline.h"
#include "device.h"
#include "kernel.h"
#include "monitor.h"
#include "nbdtab.h"
#include "params.h"
#include "proc.h"
#include "state.h"

/* How often the old resident process is looked for while it leaves. */
#define ADOPT_LOOK_MS 20

struct adoption {
	int index;
	char name[32];			/* "nbd0" */
	char dev[48];			/* "/dev/nbd0" */
	char pid[32];			/* the kernel's pid for it */
	struct state_device s;		/* what the attach left */
	struct state_links x;
	struct argsfile a;		/* its command line */
	struct nbd_config cfg;		/* ... parsed */
	struct cli cli;
	bool told;			/* the old monitor was told to leave */
};

/* The backend identifier cfg gives is device index's. */
static bool backend_is(int index, const struct nbd_config *cfg, char *backend,
		       size_t len, char **want)
{
	*want = attach_identifier(cfg);
	if (nbd_sysfs_backend(index, backend, len) < 0)
		backend[0] = 0;
	return *want && !strcmp(backend, *want);
}

bool adopt_attached(const struct nbd_config *cfg)
{
	char backend[512], pid[32];
	struct nbd_err ignored;
	char *want = NULL;
	bool r;
	int index;

	if (!cfg->device || cfg->nonetlink)
		return false;
	index = nbd_dev_index(cfg->device, &ignored);
	if (index < 0 || nbd_sysfs_pid(index, pid, sizeof(pid), &ignored) != 1)
		return false;
	r = backend_is(index, cfg, backend, sizeof(backend), &want);
	free(want);
	return r;
}

static int connected(struct adoption *ad, struct nbd_err *e)
{
	int r = nbd_sysfs_pid(ad->index, ad->pid, sizeof(ad->pid), e);

	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, "%s is not connected: nothing to adopt",
			       ad->dev);
	ad->pid[strcspn(ad->pid, "\n")] = 0;
	return 0;
}

/* What the attach left, if it is current: it names the kernel's pid. */
static int read_state(struct adoption *ad, struct nbd_err *e)
{
	char file[64];

	snprintf(file, sizeof(file), NBD_STATE_DIR "/%s", ad->name);
	if (state_read(AT_FDCWD, file, &ad->s, &ad->x) < 0 ||
	    ad->s.pid != atoi(ad->pid))
		return err_set(e, "%s was not attached by nbd-client (%s does not name its pid %s): nothing to adopt",
			       ad->dev, file, ad->pid);
	return 0;
}

static int read_args(struct adoption *ad, struct nbd_err *e)
{
	int dirfd = open(NBD_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dirfd < 0 ? -1 : argsfile_read(dirfd, ad->name, &ad->a);

	if (r < 0)
		err_errno(e, errno, "cannot read " NBD_STATE_DIR "/%s.args, the command line that attached %s",
			  ad->name, ad->dev);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* The attach's command line as a config, in the directory it ran in. */
static int parse_args(struct adoption *ad, bool nofork, struct nbd_err *e)
{
	struct nbd_config *c = &ad->cfg;

	if (cli_parse(ad->a.argc, ad->a.argv, c, &ad->cli, e) < 0)
		return err_prefix(e, NBD_STATE_DIR "/%s.args", ad->name);
	if (ad->cli.mode != MODE_ATTACH && ad->cli.mode != MODE_NBDTAB)
		return err_set(e, NBD_STATE_DIR "/%s.args is not the command line of an attach",
			       ad->name);
	if (ad->cli.mode == MODE_NBDTAB &&
	    nbdtab_load(ad->cli.nbdtab, c, e) < 0)
		return -1;
	free(c->device);
	c->device = strdup(ad->dev);
	if (!c->device)
		return err_set(e, "out of memory");
	/* ours, not the attach's; and never -systemd-mark's @ (a process
	 * run from the root file system must not escape systemd) */
	c->nofork = nofork;
	if (c->nonetlink)
		return err_set(e, "%s was attached with the ioctl interface (-nonetlink), whose process holds the device: it cannot be adopted",
			       ad->dev);
	return 0;
}

static int check_backend(struct adoption *ad, struct nbd_err *e)
{
	char backend[512], *want;
	int r = 0;

	if (!backend_is(ad->index, &ad->cfg, backend, sizeof(backend), &want))
		r = want ? err_set(e, "%s is attached to %s, not to %s as the command line that attached it says: nothing to adopt",
				   ad->dev, backend[0] ? backend : "no backend identifier",
				   want)
			 : err_set(e, "out of memory");
	free(want);
	return r;
}

/* Everything but the kernel: the device, its record, its command line. */
static int prepare(struct adoption *ad, const char *device, bool nofork,
		   struct nbd_err *e)
{
	ad->index = nbd_dev_index(device, e);
	if (ad->index < 0)
		return -1;
	snprintf(ad->name, sizeof(ad->name), "nbd%d", ad->index);
	snprintf(ad->dev, sizeof(ad->dev), "/dev/nbd%d", ad->index);
	if (connected(ad, e) < 0 || read_state(ad, e) < 0 ||
	    read_args(ad, e) < 0)
		return -1;
	/* relative paths (--nbdtab, credentials) are the attach's */
	if (chdir(ad->a.cwd) < 0 && chdir("/") < 0)
		return err_errno(e, errno, "chdir /");
	if (parse_args(ad, nofork, e) < 0 || check_backend(ad, e) < 0)
		return -1;
	return 0;
}

/* The process that watched the device until now, if it is still there,
 * is told to leave (SIGTERM: it exits, the device stays), and waited for. */
static int old_leaves(struct adoption *ad, struct nbd_err *e)
{
	pid_t pid = ad->s.monitor;
	unsigned long long start = ad->s.monitor_start;
	struct deadline dl = deadline_in(ADOPT_LEAVE_MS);

	if (pid <= 0 || pid == getpid() || !proc_alive(pid, start))
		return 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return err_errno(e, errno, "cannot tell pid %d, the resident process of %s, to leave",
				 (int)pid, ad->dev);
	ad->told = true;
	while (proc_alive(pid, start)) {
		if (!deadline_left_ms(dl))
			return err_set(e, "pid %d, the resident process of %s, did not leave within %d s of SIGTERM",
				       (int)pid, ad->dev, ADOPT_LEAVE_MS / 1000);
		usleep(ADOPT_LOOK_MS * 1000);
	}
	return 0;
}

/* Listen before the old process goes, take the device as it left it. */
static int take_over(struct adoption *ad, struct nbd_device *d,
		     struct nbd_err *e)
{
	pid_t old = ad->s.monitor;

	if (device_adopt_listen(d, ad->index, e) < 0 || old_leaves(ad, e) < 0)
		return -1;
	/* its last word: which links are dead now */
	if (connected(ad, e) < 0 || read_state(ad, e) < 0)
		return -1;
	if (device_adopt(d, &ad->s, &ad->x, e) < 0)
		return -1;
	printf("Adopted %s from pid %d, which %s\n", ad->dev, (int)old,
	       ad->told ? "has left" : "was gone");
	fflush(stdout);
	return 0;
}

/* This process, or (without -nofork) a child it leaves, is the monitor
 * now: recorded as such before the command returns. */
static int become_monitor(struct nbd_device *d, struct nbd_err *e)
{
	pid_t pid = 0;

	if (!d->cfg->nofork)
		pid = fork();
	if (pid < 0)
		return err_errno(e, errno, "cannot start the resident process");
	d->self = pid ? pid : getpid();
	if (proc_start_time(d->self, &d->start) < 0)
		d->start = 0;
	if (pid)
		device_record(d);
	return pid > 0;
}

static int monitor(struct nbd_device *d, pid_t old)
{
	d->resident = true;
	if (!d->cfg->nofork && monitor_detach() < 0)
		nbd_log(&d->log, LOG_WARNING, "cannot detach from the terminal: %s",
			strerror(errno));
	if (d->cfg->nofork)
		device_record(d);
	monitor_settle(d);
	nbd_log(&d->log, LOG_NOTICE, "adopted /dev/%s from pid %d", d->name,
		(int)old);
	device_log_links(d);
	return monitor_run(d) == 0 ? 0 : ATTACH_REPORTED;
}

int adopt_run(const char *device, bool nofork, struct nbd_err *e)
{
	struct adoption ad = { 0 };
	struct nbd_device d;
	bool inited = false;
	int here, r = -1;

	if (nbd_require_admin("adopt", e) < 0)
		return -1;
	config_init(&ad.cfg);
	here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (prepare(&ad, device, nofork, e) < 0)
		goto out;
	inited = true;
	if (device_init(&d, &ad.cfg, e) < 0)
		goto out;
	/* back where we were: the credentials are read */
	if (here >= 0 && fchdir(here) < 0)
		goto out;
	d.stop_fd = monitor_stop_signals(e);
	if (d.stop_fd < 0 || take_over(&ad, &d, e) < 0)
		goto out;
	r = become_monitor(&d, e);
	if (r == 0)
		r = monitor(&d, ad.s.monitor);
	else if (r == 1)
		r = 0;	/* the command: the child carries on */
out:
	if (here >= 0)
		close(here);
	if (inited && d.stop_fd >= 0)
		close(d.stop_fd);
	if (inited)
		device_close(&d);
	argsfile_free(&ad.a);
	cli_free(&ad.cli);
	config_free(&ad.cfg);
	return r;
}
