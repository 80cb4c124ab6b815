// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd-client host [port] [device]: negotiate -C connections, turn each into
 * the socket the kernel gets (datapath: the socket itself, or a TLS proxy),
 * attach them with netlink (ioctl with -L or when netlink is missing), then
 * either exit or, for -persist and the ioctl interface, stay resident.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attach.h"
#include "datapath.h"
#include "kernel.h"
#include "monitor.h"
#include "nego.h"
#include "proto.h"

#define MAX_CONNS 64


struct attach {
	const struct nbd_config *cfg;
	struct nbd_session sess[MAX_CONNS];
	struct datapath dp[MAX_CONNS];
	int kfds[MAX_CONNS];
	unsigned int n;		/* connections negotiated */
	unsigned int nopen;	/* datapaths opened */
	struct attach_params p;
	struct nbd_nl *nl;	/* NULL: ioctl interface */
	int devfd;		/* ioctl interface */
	int index;
	char *ident;
};

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

int attach_params(const struct nbd_config *cfg, const struct nbd_export *x,
		  struct attach_params *p, struct nbd_err *e)
{
	uint32_t bs = 512;

	if (cfg->block_size) {
		bs = cfg->block_size;
		if (x->have_block_size && bs < x->min_block)
			return err_set(e, "-block-size %u is below the server's minimum block size %u",
				       bs, x->min_block);
	} else if (x->have_block_size) {
		/* the kernel takes powers of two from 512 to the page size */
		bs = x->pref_block < 512 ? 512 : x->pref_block;
		if (bs > 4096)
			bs = x->min_block > 4096 ? x->min_block : 4096;
		if (bs > 4096)
			return err_set(e, "the server's minimum block size %u is larger than the kernel's 4096",
				       x->min_block);
	}
	p->block_size = bs;
	p->size = cfg->size ? cfg->size : x->size;
	if (cfg->size && cfg->size > x->size)
		return err_set(e, "-size %llu is larger than the export (%llu bytes)",
			       (unsigned long long)cfg->size,
			       (unsigned long long)x->size);
	if (p->size % bs)
		return err_set(e, "the size %llu is not a multiple of the block size %u; pass -size or -block-size",
			       (unsigned long long)p->size, bs);
	p->flags = x->tflags | (cfg->readonly ? NBD_FLAG_READ_ONLY : 0);
	return 0;
}

char *attach_identifier(const struct nbd_config *cfg)
{
	const char *s = cfg->tls.enabled ? "s" : "";
	const char *x = cfg->export_name ? cfg->export_name : "";
	const char *h = cfg->host ? cfg->host : "";
	char *id;
	int r;

	if (cfg->identifier)
		return strdup(cfg->identifier);
	if (cfg->unix_path)
		r = asprintf(&id, "nbd%s+unix:///%s?socket=%s", s, x,
			     cfg->unix_path);
	else
		r = asprintf(&id, strchr(h, ':') ? "nbd%s://[%s]:%s/%s"
						 : "nbd%s://%s:%s/%s",
			     s, h, cfg->port ? cfg->port : NBD_DEFAULT_PORT, x);
	return r < 0 ? NULL : id;
}

/* -C N: only if the server says it is safe (NBD_FLAG_CAN_MULTI_CONN). */
static unsigned int wanted_conns(struct attach *a)
{
	uint16_t f = a->sess[0].export.tflags;

	if (a->cfg->connections <= 1)
		return 1;
	if (!(f & NBD_FLAG_CAN_MULTI_CONN)) {
		fprintf(stderr, "nbd-client: warning: the server does not allow multiple connections (no NBD_FLAG_CAN_MULTI_CONN); using 1\n");
		return 1;
	}
	return a->cfg->connections;
}

static int negotiate_one(struct attach *a, unsigned int i, struct nbd_err *e)
{
	struct nbd_session *s = &a->sess[i];

	nego_init(s, a->cfg);
	a->n = i + 1;
	if (a->cfg->preinit) {
		/* no negotiation at all: the server must be in transmission */
		if (conn_connect(&s->conn, a->cfg, e) < 0)
			return -1;
		s->export.size = a->cfg->size;
		s->export.tflags = NBD_FLAG_HAS_FLAGS;
		return 0;
	}
	if (nego_connect(s, a->cfg, e) < 0)
		return -1;
	if (i && s->export.size != a->sess[0].export.size)
		return err_set(e, "connection %u reports size %llu, connection 1 said %llu",
			       i + 1, (unsigned long long)s->export.size,
			       (unsigned long long)a->sess[0].export.size);
	return 0;
}

static int negotiate_all(struct attach *a, struct nbd_err *e)
{
	unsigned int i, n;

	if (negotiate_one(a, 0, e) < 0)
		return -1;
	n = wanted_conns(a);
	for (i = 1; i < n; i++)
		if (negotiate_one(a, i, e) < 0)
			return err_prefix(e, "connection %u", i + 1);
	return attach_params(a->cfg, &a->sess[0].export, &a->p, e);
}

static int open_datapaths(struct attach *a, struct nbd_err *e)
{
	struct datapath_opts o = {
		.nofork_log_stderr = a->cfg->nofork,
		.swap = a->cfg->swap,
		.ident = a->cfg->device ? a->cfg->device + 5 : NULL,
	};
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		if (datapath_open(&a->sess[i], &o, &a->dp[i], e) < 0)
			return -1;
		a->nopen = i + 1;
		a->kfds[i] = a->dp[i].kernel_fd;
	}
	return 0;
}

static void fill_attach(const struct attach *a, struct nbd_attach *k)
{
	const struct nbd_config *cfg = a->cfg;

	memset(k, 0, sizeof(*k));
	k->index = a->index;
	k->size = a->p.size;
	k->block_size = a->p.block_size;
	k->server_flags = a->p.flags;
	/* with -persist, requests in flight on a dead connection are sent
	 * again when they time out: there must be a timeout */
	k->timeout = cfg->timeout ? cfg->timeout
		     : cfg->persist ? NBD_PERSIST_REQ_TIMEOUT
				    : 0;
	k->dead_timeout = cfg->dead_timeout ? cfg->dead_timeout
			  : cfg->persist    ? NBD_PERSIST_DEAD_TIMEOUT
					    : 0;
	k->fds = a->kfds;
	k->nfds = a->n;
	k->identifier = a->ident;
}

/* Netlink unless -nonetlink; fall back to ioctl when the family is absent. */
static int open_kernel(struct attach *a, struct nbd_err *e)
{
	int r;

	if (a->cfg->nonetlink)
		return 0;
	r = nbd_nl_open(&a->nl, e);
	if (r != NBD_NL_NOFAMILY)
		return r;
	if (!a->cfg->device || a->n > 1 || a->cfg->identifier ||
	    a->cfg->persist)
		return -1;
	fprintf(stderr, "nbd-client: warning: %s; using the ioctl interface\n",
		e->msg);
	a->nl = NULL;
	return 0;
}

static int kernel_attach(struct attach *a, struct nbd_err *e)
{
	struct nbd_attach k;

	fill_attach(a, &k);
	if (a->nl)
		return nbd_nl_connect(a->nl, &k, &a->index, e);
	if (a->n > 1)
		return err_set(e, "-connections needs the netlink interface, which this kernel lacks");
	return nbd_ioctl_setup(a->cfg->device, &k, &a->devfd, e);
}

static void release_all(struct attach *a)
{
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		/* not handed over (an error): leave transmission politely */
		if (a->sess[i].in_transmission && a->sess[i].conn.fd >= 0)
			nego_disc(&a->sess[i]);
		nego_close(&a->sess[i]);
	}
	if (a->nl)
		nbd_nl_close(a->nl);
	if (a->devfd >= 0)
		close(a->devfd);
	free(a->ident);
}

/* On failure after proxies started: close their kernel ends, reap them. */
static void stop_datapaths(struct attach *a)
{
	unsigned int i;

	for (i = 0; i < a->nopen; i++) {
		if (a->dp[i].kind == DATAPATH_PLAIN && !a->cfg->preinit)
			nego_disc_fd(a->dp[i].kernel_fd);
		datapath_wait(&a->dp[i], NULL);
	}
	a->nopen = 0;
}

/*
 * -persist needs someone to reconnect, the ioctl interface a process in
 * NBD_DO_IT, and -nofork means "stay in the foreground until the device is
 * disconnected" (systemd Type=simple).
 */
static bool needs_resident(const struct attach *a)
{
	return a->cfg->persist || !a->nl || a->cfg->nofork;
}

static void fill_monitor(struct attach *a, struct monitor *m)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->cfg = a->cfg;
	m->index = a->index;
	m->nl = a->nl;
	m->devfd = a->devfd;
	m->size = a->p.size;
	m->n = a->nopen;
	for (i = 0; i < a->nopen; i++)
		m->dp[i] = a->dp[i];
	m->log.to_stderr = a->cfg->nofork;
	m->log.role = "monitor";
	snprintf(m->name, sizeof(m->name), "nbd%d", a->index);
	m->log.ident = m->name;
	a->nl = NULL;
	a->devfd = -1;
}

static int go_resident(struct attach *a, struct nbd_err *e)
{
	struct monitor m;
	pid_t pid;

	if (!a->cfg->nofork) {
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return err_errno(e, errno, "cannot start the resident process");
		if (pid > 0)
			return 0; /* the command is done; the child stays */
		if (monitor_detach() < 0)
			_exit(1);
	}
	fill_monitor(a, &m);
	release_all(a);
	if (a->cfg->swap && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		nbd_log(&m.log, LOG_WARNING, "mlockall: %s", strerror(errno));
	/* reconnecting must not wait on the writeback it is needed for */
	if (a->cfg->persist && nbd_mark_io_flusher() < 0)
		nbd_log(&m.log, LOG_INFO, "PR_SET_IO_FLUSHER: %s", strerror(errno));
	exit(monitor_run(&m));
}

int attach_run(const struct nbd_config *cfg, char **argv, struct nbd_err *e)
{
	struct attach a = { .cfg = cfg, .devfd = -1, .index = -1 };
	unsigned int i;
	int r = -1;

	if (validate(cfg, e) < 0)
		return -1;
	/* before any fork, so the proxies carry the mark too */
	if (cfg->systemd_mark && argv && argv[0] && argv[0][0])
		argv[0][0] = '@';
	if (cfg->device && (a.index = nbd_dev_index(cfg->device, e)) < 0)
		return -1;
	a.ident = attach_identifier(cfg);
	if (!a.ident)
		return err_set(e, "out of memory");
	if (cfg->swap && cfg->tls.enabled)
		fprintf(stderr, "nbd-client: warning: swap over TLS goes through a userspace proxy; it is mlocked, but heavy memory pressure can still stall it\n");
	if (negotiate_all(&a, e) < 0 || open_kernel(&a, e) < 0 ||
	    open_datapaths(&a, e) < 0)
		goto out;
	if (kernel_attach(&a, e) < 0) {
		stop_datapaths(&a);
		goto out;
	}
	for (i = 0; i < a.nopen; i++)
		datapath_handed_over(&a.dp[i]);
	printf("Connected /dev/nbd%d\n", a.index);
	r = 0;
	if (needs_resident(&a)) {
		r = go_resident(&a, e);
		if (r < 0)
			goto out;
	}
out:
	release_all(&a);
	return r;
}
