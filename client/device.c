// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pipeline: connect -> negotiate -> data path -> kernel, for the first
 * attach (device_attach) and for every reconnect (device_reconnect).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argsfile.h"
#include "deadline.h"
#include "device.h"
#include "devname.h"
#include "kernel.h"
#include "nego.h"
#include "proc.h"
#include "proto.h"
#include "reshape.h"
#include "state.h"
#include "transmit.h"

/* The data path of a TLS link, in the log (kmsg too: NOTICE). */
static void log_link(struct nbd_device *d, unsigned int k)
{
	const struct datapath *dp = &d->link[k].dp;

	if (dp->tls_desc[0])
		nbd_log(&d->log, LOG_NOTICE, "connection %u: %s, %s", k + 1,
			datapath_kind_name(dp->kind), dp->tls_desc);
}

/*
 * With --ktls=auto, why kernel TLS is not used: kept for the command to
 * say once the device is attached (not before: a failed attach has better
 * things to say), logged by a resident process on a reconnect.
 */
static void say_no_ktls(struct nbd_device *d, const char *why)
{
	if (d->resident)
		nbd_log(&d->log, LOG_WARNING, "kernel TLS not used: %s", why);
	else if (!d->no_ktls[0])
		snprintf(d->no_ktls, sizeof(d->no_ktls), "%s", why);
}

/*
 * Swap and a root (-swap) over TLS: under memory pressure the kernel lends
 * its reserves only to the sockets it holds (SOCK_MEMALLOC), so only kernel
 * TLS receives the replies that free memory; a proxy's own socket cannot
 * be marked, and swapping through it deadlocks.  So kernel TLS, or a
 * refusal with the reason; the proxy only where the user named it.
 */
#define SWAP_NEEDS_KTLS "-swap over TLS needs kernel TLS (swap through a TLS proxy deadlocks under memory pressure; --ktls=off uses the proxy anyway)"

static bool swap_needs_ktls(const struct nbd_device *d)
{
	return d->cfg->swap && config_ktls(&d->cfg->tls) != KTLS_OFF;
}

/* Kernel TLS needs the tls module: load it now, while there are modules
 * to load (-persist after switch_root).  With auto, not having it means
 * the proxy, said once; for swap, a refusal. */
static int ktls_prepare(struct nbd_device *d, struct nbd_err *e)
{
	struct nbd_err why = { "" };

	d->ktls = config_ktls(&d->cfg->tls);
	if (d->ktls == KTLS_OFF || nbd_kmod_load_tls(&why) == 0) {
		if (swap_needs_ktls(d))
			d->ktls = KTLS_ON;
		return 0;
	}
	if (swap_needs_ktls(d))
		return err_set(e, "%s, and %s", SWAP_NEEDS_KTLS, why.msg);
	if (d->ktls == KTLS_ON)
		return err_set(e, "--ktls=on: %s", why.msg);
	d->ktls = KTLS_OFF;
	say_no_ktls(d, why.msg);
	return 0;
}

int device_init(struct nbd_device *d, const struct nbd_config *cfg,
		struct nbd_err *e)
{
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->devfd = -1;
	d->index = -1;
	d->stop_fd = -1;
	d->state_fd = -1;
	d->limit_fd = -1;
	limit_job_init(&d->limit);
	d->sys_fd = -1;
	/* everything a resident process needs later is opened now: after
	 * switch_root it may find no /dev, /sys or /proc at all */
	d->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* -systemd-mark: a root device, started from an initramfs */
	d->log.to_kmsg = cfg->systemd_mark && !cfg->nofork;
	d->log.kmsg_fd = d->log.to_kmsg
				 ? open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
				 : -1;
	d->log.role = "monitor";
	d->log.ident = d->name;
	d->log.to_stderr = cfg->nofork;
	if (cfg->device) {
		d->index = nbd_dev_index(cfg->device, e);
		if (d->index < 0)
			return -1;
		snprintf(d->name, sizeof(d->name), "%s",
			 nbd_dev_basename(cfg->device));
	} else {
		snprintf(d->name, sizeof(d->name), "nbd");
	}
	d->state_fd = state_dir_open();
	/* now, while there is a /proc: an adopter tells us by it */
	d->self = getpid();
	if (proc_start_time(d->self, &d->start) < 0)
		d->start = 0;
	d->ident = attach_identifier(cfg);
	if (!d->ident)
		return err_set(e, "out of memory");
	/* now, while the files are there: a reconnect after switch_root
	 * finds none */
	if (cfg->tls.enabled && tls_creds_load(&d->creds, &cfg->tls, e) < 0)
		return -1;
	if (cfg->tls.enabled && ktls_prepare(d, e) < 0)
		return -1;
	if (d->creds.warning[0])
		device_warn(d, "%s", d->creds.warning);
	return 0;
}

void device_warn(struct nbd_device *d, const char *fmt, ...)
{
	char msg[NBD_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->resident)
		nbd_log(&d->log, LOG_WARNING, "%s", msg);
	else if (d->nwarnings < DEVICE_MAX_WARNINGS)
		memcpy(d->warnings[d->nwarnings++], msg, sizeof(msg));
}

/*
 * The request size limit (the server's maximum payload, or the kernel's
 * default): the sysfs file is opened once and kept, for reconnects after
 * switch_root.  Restoring the default is best effort (in sysfs.c); a
 * limit the server needs is not.
 */
static int limit_open(struct nbd_device *d, struct nbd_err *e)
{
	if (d->limit_fd < 0)
		d->limit_fd = nbd_sysfs_limit_open(d->index, &d->hw_kb, e);
	return d->limit_fd;
}

static int limit_requests(struct nbd_device *d, uint32_t bytes,
			  struct nbd_err *e)
{
	if (limit_open(d, e) < 0)
		return bytes ? -1 : 0;
	return nbd_sysfs_limit_requests(d->limit_fd, d->index, d->hw_kb,
					bytes, e);
}

/* A reconnect found this export: keep the device (logging what changed)
 * or say why it must go.  A smaller request limit waits for the link
 * (device_limit_kick). */
static int reshape(struct nbd_device *d, const struct nbd_export *now,
		   struct nbd_err *e)
{
	struct reshape r;
	unsigned int i;

	if (export_reshape(&d->first, &d->p, d->n, now, &r, e) < 0)
		return -1;
	for (i = 0; i < r.n; i++)
		device_warn(d, "%s", r.notes[i]);
	/* every reconnect's own: none left from one that failed later;
	 * d->p has the limit being applied, if any */
	d->new_max = d->attached ? r.max_request : 0;
	if (!d->attached && r.max_request)
		d->p.max_request = r.max_request;
	return 0;
}

/*
 * A smaller request limit, applied once the kernel has the new link, and
 * by a child (limit.h): on 6.12 the write waits for the requests in
 * flight, and they may wait for another reconnect.  One at a time; the
 * device's limit is the new one from the start, so that the next
 * reconnect compares with it.  -1 (e set): the limit file cannot be
 * opened.  A child that cannot start is tried again at the next call.
 */
int device_limit_kick(struct nbd_device *d, struct nbd_err *e)
{
	struct nbd_err why;

	if (!d->new_max || d->limit.fd >= 0)
		return 0;
	if (limit_open(d, e) < 0)
		return -1;
	if (limit_job_start(&d->limit, d->limit_fd, d->index, d->hw_kb,
			    d->new_max, &why) < 0) {
		device_warn(d, "%s; trying again", why.msg);
		return 0;
	}
	d->p.max_request = d->new_max;
	d->new_max = 0;
	device_record(d);
	return 0;
}

int device_limit_fd(const struct nbd_device *d)
{
	return d->limit.fd;
}

int device_limit_done(struct nbd_device *d, struct nbd_err *e)
{
	uint32_t max = d->limit.max;

	if (limit_job_finish(&d->limit, e) < 0)
		return -1;
	device_warn(d, "the server's maximum payload is now %u bytes; requests are limited to it",
		    max);
	return 0;
}

static int device_gone(void *arg)
{
	return device_connected(arg) == 0;
}

/* Which data path a TLS link took, and why not kernel TLS (once). */
static void link_report(struct nbd_device *d, unsigned int k)
{
	const struct datapath *dp = &d->link[k].dp;

	if (dp->no_ktls[0])
		say_no_ktls(d, dp->no_ktls);
	if (d->resident)	/* a reconnect */
		log_link(d, k);
}

void device_log_links(struct nbd_device *d)
{
	unsigned int k;

	for (k = 0; k < d->n; k++)
		log_link(d, k);
}

/* -P: no negotiation at all, the server must already be in transmission. */
static int preinit_conn(struct nbd_device *d, struct nbd_session *s,
			struct nbd_err *e)
{
	conn_begin_negotiation(&s->conn);
	if (conn_connect(&s->conn, d->cfg, e) < 0)
		return -1;
	s->export.size = d->cfg->size;
	s->export.tflags = NBD_FLAG_HAS_FLAGS;
	s->export.have_export = true;
	return 0;
}

/*
 * Steps 1 to 3 for link k: connect, negotiate, open the data path.  The
 * first negotiation sets the export the others must match.  On success the
 * link is LINK_READY; on failure it is LINK_EMPTY and the server was told.
 */
static int link_open(struct nbd_device *d, unsigned int k, bool first,
		     struct nbd_err *e)
{
	struct datapath_opts o = { .nofork_log_stderr = d->cfg->nofork,
				   .swap = d->cfg->swap,
				   .ident = d->name,
				   .null_fd = d->null_fd,
				   .ktls = d->ktls,
				   .no_sandbox = d->cfg->no_sandbox };
	struct nbd_session s;
	int r = -1;

	nego_init(&s, d->cfg);
	s.conn.stop_fd = d->stop_fd;
	s.conn.remember = &d->addr;
	if (d->creds.loaded)
		s.creds = &d->creds;
	if (d->attached) {
		/* a reconnect: -d must not wait for it */
		s.conn.gone = device_gone;
		s.conn.gone_arg = d;
	}
	if ((d->cfg->preinit ? preinit_conn(d, &s, e)
			     : nego_connect(&s, d->cfg, e)) < 0)
		goto out;
	if (first) {
		/* its numbers; the strings stay with s */
		d->first = s.export;
		d->first.name = NULL;
		d->first.description = NULL;
	} else if (reshape(d, &s.export, e) < 0) {
		r = DEVICE_EXPORT_CHANGED;
		goto out;
	}
	if (datapath_open(&s.conn, &o, &d->link[k].dp, e) < 0) {
		if (swap_needs_ktls(d) && d->link[k].dp.no_ktls[0])
			err_set(e, "%s, and %s", SWAP_NEEDS_KTLS,
				d->link[k].dp.no_ktls);
		goto out;
	}
	link_report(d, k);
	d->link[k].state = LINK_READY;
	r = 0;
out:
	if (r < 0 && s.in_transmission && s.conn.fd >= 0)
		transmit_disc(&s.conn);
	nego_close(&s);
	return r;
}

/* Undo link_open, or forget a handed-over link. */
static void link_close(struct nbd_device *d, unsigned int k)
{
	struct link *l = &d->link[k];

	if (l->state == LINK_READY && !d->cfg->preinit)
		transmit_disc_fd(l->dp.kernel_fd);
	if (l->state == LINK_READY || l->state == LINK_ATTACHED)
		datapath_close(&l->dp, NULL);
	if (l->dp.sandbox_call[0])
		nbd_log(&d->log, LOG_ERR, "the proxy of connection %u was stopped by its sandbox: %s",
			k + 1, l->dp.sandbox_call);
	l->dp.sandbox_call[0] = 0;
	l->state = LINK_EMPTY;
}

static void close_ready_links(struct nbd_device *d)
{
	unsigned int k;

	for (k = 0; k < d->n; k++)
		if (d->link[k].state == LINK_READY)
			link_close(d, k);
}

/* -C N: only if the server says it is safe (NBD_FLAG_CAN_MULTI_CONN). */
static unsigned int wanted_links(struct nbd_device *d)
{
	if (d->cfg->connections <= 1)
		return 1;
	if (!(d->first.tflags & NBD_FLAG_CAN_MULTI_CONN)) {
		device_warn(d, "the server does not allow multiple connections (no NBD_FLAG_CAN_MULTI_CONN); using 1");
		return 1;
	}
	return d->cfg->connections;
}

static int open_links(struct nbd_device *d, struct nbd_err *e)
{
	unsigned int k, n;

	d->n = 1;
	if (link_open(d, 0, true, e) < 0 ||
	    attach_params(d->cfg, &d->first, &d->p, e) < 0)
		return -1;
	n = wanted_links(d);
	for (k = 1; k < n; k++) {
		d->n = k + 1;
		if (link_open(d, k, false, e) < 0)
			return err_prefix(e, "connection %u", k + 1);
	}
	return 0;
}

/* Netlink unless -nonetlink; fall back to ioctl when the family is absent
 * and nothing needs netlink. */
static int open_kernel(struct nbd_device *d, struct nbd_err *e)
{
	int r;

	if (d->cfg->nonetlink)
		return 0;
	r = nbd_nl_open(&d->nl, e);
	if (r != NBD_NL_NOFAMILY)
		return r;
	d->nl = NULL;
	if (!d->cfg->device || d->n > 1 || d->cfg->identifier ||
	    d->cfg->persist)
		return -1;
	device_warn(d, "%s; using the ioctl interface", e->msg);
	return 0;
}

static void fill_attach(const struct nbd_device *d, int *fds,
			struct nbd_attach *k)
{
	const struct nbd_config *cfg = d->cfg;
	unsigned int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < d->n; i++)
		fds[i] = d->link[i].dp.kernel_fd;
	k->index = d->index;
	k->size = d->p.size;
	k->block_size = d->p.block_size;
	k->server_flags = d->p.flags;
	/* watched: requests in flight on a dead connection are sent again
	 * when they time out (there must be a timeout), and I/O waits for
	 * the reconnect */
	attach_timeouts(cfg, d->watched, &k->timeout, &k->dead_timeout);
	k->fds = fds;
	k->nfds = d->n;
	k->identifier = d->ident;
	/* a udev probe holds a device for a moment after every change */
	k->busy_wait_ms = cfg->timeout ? cfg->timeout * 1000u
				       : NBD_DEFAULT_TIMEOUT_MS;
}

static int kernel_connect(struct nbd_device *d, struct nbd_err *e)
{
	int fds[DEVICE_MAX_LINKS];
	struct nbd_attach k;

	fill_attach(d, fds, &k);
	if (!d->nl)
		return nbd_ioctl_setup(d->cfg->device, &k, &d->devfd, e);
	/* before CONNECT: a link that dies at once is still reported */
	if (d->watched && nbd_nl_subscribe_link_dead(d->nl, e) < 0)
		return -1;
	return nbd_nl_connect(d->nl, &k, &d->index, e);
}

/* The kernel's pid for the device (ours until we know it). */
static pid_t kernel_pid(const struct nbd_device *d)
{
	return d->kpid[0] ? (pid_t)atoi(d->kpid) : getpid();
}

/*
 * For --status and --list-devices: which data path each link took; for an
 * adopter: who watches the device (d->self, which an adopter that forks
 * sets to its child), and what it was attached with.
 */
void device_record(struct nbd_device *d)
{
	struct state_link l[DEVICE_MAX_LINKS];
	struct state_device s = { .first = d->first, .p = d->p };
	unsigned int k;

	s.pid = kernel_pid(d);
	s.monitor = d->self;
	s.monitor_start = d->start;
	for (k = 0; k < d->n; k++) {
		l[k].path = datapath_kind_name(d->link[k].dp.kind);
		l[k].tls = d->link[k].dp.tls_desc;
		s.dead += d->link[k].state == LINK_DEAD;
	}
	if (state_write(d->state_fd, d->name, &s, l, d->n) < 0)
		nbd_log(&d->log, LOG_WARNING, "cannot record the connections in " NBD_STATE_DIR "/%s: %s",
			d->name, strerror(errno));
}

/* For an adopter: the command line to reconnect with (netlink only: a
 * device attached with the ioctls lives as long as its process). */
static void record_args(struct nbd_device *d)
{
	char cwd[4096];

	if (!d->argv || !d->nl || d->state_fd < 0)
		return;
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	if (argsfile_write(d->state_fd, d->name, cwd, d->argv) < 0)
		device_warn(d, "cannot record the command line in " NBD_STATE_DIR "/%s.args (the device cannot be adopted): %s",
			    d->name, strerror(errno));
}

/*
 * Remember whose device it is: the kernel shows the pid of the task that
 * started it (the one that sent CONNECT: us).  Through a directory fd
 * opened now, as after switch_root there may be no /sys to open.
 */
static void note_owner(struct nbd_device *d)
{
	d->kpid[0] = 0;
	if (!d->nl)
		return;
	d->sys_fd = nbd_sysfs_open(d->index);
	if (d->sys_fd >= 0 &&
	    nbd_sysfs_pid_at(d->sys_fd, d->kpid, sizeof(d->kpid)) != 1)
		d->kpid[0] = 0;
	d->kpid[strcspn(d->kpid, "\n")] = 0;
}

static void handed_over(struct nbd_device *d, unsigned int k)
{
	datapath_handed_over(&d->link[k].dp);
	d->link[k].state = LINK_ATTACHED;
}

/*
 * Who reconnects (netlink only): -persist; root and swap (-swap), where an
 * outage must never become I/O errors; and kernel TLS links, since a TLS
 * 1.3 KeyUpdate or any other record that is not data kills such a link
 * where a proxy would have gone on: the device must not be less durable
 * for taking the faster path.
 */
static void watch(struct nbd_device *d)
{
	unsigned int k;

	d->watched = d->cfg->persist || (d->nl && d->cfg->swap);
	for (k = 0; k < d->n && d->nl; k++)
		if (d->link[k].dp.kind == DATAPATH_KTLS)
			d->watched = true;
}

int device_attach(struct nbd_device *d, struct nbd_err *e)
{
	unsigned int k;

	struct nbd_err ignored;

	/* the request limit before the first request where the device is
	 * known; else (the kernel picks it) right after CONNECT */
	if (open_links(d, e) < 0 || open_kernel(d, e) < 0)
		goto fail;
	watch(d);
	if ((d->nl && d->index >= 0 &&
	     limit_requests(d, d->p.max_request, e) < 0) ||
	    kernel_connect(d, e) < 0)
		goto fail;
	for (k = 0; k < d->n; k++)
		handed_over(d, k);
	d->attached = true;
	snprintf(d->name, sizeof(d->name), "nbd%d", d->index);
	if (d->limit_fd < 0 && limit_requests(d, d->p.max_request, e) < 0) {
		if (d->nl)
			nbd_nl_disconnect(d->nl, d->index, &ignored);
		return -1;
	}
	note_owner(d);
	device_record(d);
	record_args(d);
	return 0;
fail:
	close_ready_links(d);
	return -1;
}

int device_reconnect(struct nbd_device *d, unsigned int k, struct nbd_err *e)
{
	unsigned int req, dead;
	int r;

	if (!d->nl)
		return err_set(e, "reconnecting needs the netlink interface");
	r = link_open(d, k, false, e);
	if (r < 0)
		return r;
	/*
	 * The kernel puts the socket in the first slot it marked dead, and
	 * drops it if there is none (an adopted link we took for dead whose
	 * death was another's): the socket then goes, and the kernel's own
	 * connection is alive.
	 */
	r = nbd_nl_reconnect(d->nl, d->index, d->link[k].dp.kernel_fd,
			     d->ident, e);
	/* only a device with a request timeout tells (every watched one) */
	attach_timeouts(d->cfg, d->watched, &req, &dead);
	if (r == 0 && !req)
		r = 1;
	if (r <= 0) {
		link_close(d, k);
		d->link[k].state = r < 0 ? LINK_DEAD : LINK_ADOPTED;
		if (r == 0)
			device_record(d);
		return r < 0 ? -1 : DEVICE_NOT_TAKEN;
	}
	handed_over(d, k);
	device_record(d);
	return 0;
}

bool device_has_proxy(const struct nbd_device *d)
{
	unsigned int k;

	for (k = 0; k < d->n; k++)
		if (d->link[k].dp.kind == DATAPATH_PROXY)
			return true;
	return false;
}

void device_link_dead(struct nbd_device *d, unsigned int k)
{
	link_close(d, k);
	d->link[k].state = LINK_DEAD;
	device_record(d);	/* for an adopter, should we be gone */
}

int device_adopt_listen(struct nbd_device *d, int index, struct nbd_err *e)
{
	d->index = index;
	snprintf(d->name, sizeof(d->name), "nbd%d", index);
	if (nbd_nl_open(&d->nl, e) < 0)
		return -1;
	return nbd_nl_subscribe_link_dead(d->nl, e);
}

static enum datapath_kind kind_named(const char *path)
{
	if (!strcmp(path, datapath_kind_name(DATAPATH_KTLS)))
		return DATAPATH_KTLS;
	if (!strcmp(path, datapath_kind_name(DATAPATH_PROXY)))
		return DATAPATH_PROXY;
	return DATAPATH_PLAIN;
}

/* Link k as another process left it: the kernel holds it, we nothing. */
static void adopt_link(struct nbd_device *d, unsigned int k,
		       const struct state_links *x, bool dead)
{
	struct link *l = &d->link[k];

	memset(l, 0, sizeof(*l));
	l->dp.kind = kind_named(x->path[k]);
	l->dp.kernel_fd = -1;
	l->dp.watch_fd = -1;
	l->dp.proxy_pid = -1;
	l->dp.report_fd = -1;
	snprintf(l->dp.tls_desc, sizeof(l->dp.tls_desc), "%s", x->tls[k]);
	l->state = dead ? LINK_DEAD : LINK_ADOPTED;
	l->backoff_s = 1;
	l->retry_at_ms = mono_ms();
}

int device_adopt(struct nbd_device *d, const struct state_device *s,
		 const struct state_links *x, struct nbd_err *e)
{
	unsigned int k;

	if (!x->n)
		return err_set(e, NBD_STATE_DIR "/%s records no connection of /dev/%s",
			       d->name, d->name);
	d->first = s->first;
	d->p = s->p;
	d->n = x->n;
	for (k = 0; k < d->n; k++)
		adopt_link(d, k, x, k < s->dead);
	watch(d);
	d->attached = true;
	note_owner(d);
	return 0;
}

/*
 * Connected, but still ours?  After a -d, another attach may take the
 * device before we looked: its pid then is another.  Absent or unreadable
 * says nothing (being set up, or torn down): the next look tells.
 */
static bool still_ours(struct nbd_device *d)
{
	char pid[32];

	if (d->sys_fd < 0 || !d->kpid[0] ||
	    nbd_sysfs_pid_at(d->sys_fd, pid, sizeof(pid)) != 1)
		return true;
	pid[strcspn(pid, "\n")] = 0;
	if (!strcmp(pid, d->kpid))
		return true;
	nbd_log(&d->log, LOG_NOTICE, "/dev/%s was disconnected and attached again (by pid %s)",
		d->name, pid);
	return false;
}

int device_connected(struct nbd_device *d)
{
	struct nbd_dev_status st;
	struct nbd_err e;
	size_t n = 0;

	if (nbd_nl_status(d->nl, d->index, &st, 1, &n, &e) < 0) {
		nbd_log(&d->log, LOG_WARNING, "%s", e.msg);
		return -1;
	}
	return n == 1 && st.connected && still_ours(d);
}

void device_close(struct nbd_device *d)
{
	unsigned int k;

	for (k = 0; k < d->n; k++)
		link_close(d, k);
	if (d->nl)
		nbd_nl_close(d->nl);
	if (d->devfd >= 0)
		close(d->devfd);
	d->nl = NULL;
	d->devfd = -1;
	free(d->ident);
	d->ident = NULL;
	tls_creds_free(&d->creds);
	if (d->null_fd >= 0)
		close(d->null_fd);
	if (d->log.kmsg_fd >= 0)
		close(d->log.kmsg_fd);
	if (d->state_fd >= 0)
		close(d->state_fd);
	if (d->limit_fd >= 0)
		close(d->limit_fd);
	if (d->limit.fd >= 0)	/* its child finishes on its own */
		close(d->limit.fd);
	limit_job_init(&d->limit);
	if (d->sys_fd >= 0)
		close(d->sys_fd);
	d->state_fd = -1;
	d->limit_fd = -1;
	d->sys_fd = -1;
	d->null_fd = -1;
	d->log.kmsg_fd = -1;
}
