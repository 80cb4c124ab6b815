// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -d and --list-devices: netlink, or the ioctls without it.  -c and
 * --status: sysfs, whichever interface attached the device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/nbd-netlink.h>

#include "attach.h"
#include "kernel.h"
#include "report.h"
#include "state.h"

#define MAX_DEVICES 1024

/*
 * 1: netlink open; 0: use ioctl (asked for, or no netlink family).  -d
 * never loads the module: without it no device is connected, and the
 * ioctl path says so (no such device).
 */
static int open_nl(const struct nbd_config *cfg, struct nbd_nl **nl,
		   struct nbd_err *e)
{
	int r;

	*nl = NULL;
	if (cfg && cfg->nonetlink)
		return 0;
	if (cfg)
		r = nbd_nl_open_family(nl, NBD_GENL_FAMILY_NAME, e);
	else
		r = nbd_nl_open(nl, e);
	if (r == NBD_NL_NOFAMILY)
		return 0;
	return r < 0 ? -1 : 1;
}

/* The device's index and the netlink handle (see open_nl). */
static int open_device(const struct nbd_config *cfg, int *index,
		       struct nbd_nl **nl, struct nbd_err *e)
{
	*index = nbd_dev_index(cfg->device, e);
	if (*index < 0)
		return -1;
	return open_nl(cfg, nl, e);
}

int attach_disconnect(const struct nbd_config *cfg, struct nbd_err *e)
{
	struct nbd_nl *nl;
	int index, r;

	if (nbd_require_admin("disconnect", e) < 0)
		return -1;
	r = open_device(cfg, &index, &nl, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return nbd_ioctl_disconnect(cfg->device, e);
	r = nbd_nl_disconnect(nl, index, e);
	nbd_nl_close(nl);
	return r;
}

/* "connected to URI", and the data path where TLS makes it interesting. */
static void print_backend(int index)
{
	char backend[512], links[1024];

	state_describe(index, 0, links, sizeof(links));
	if (!strcmp(links, "plaintext"))
		links[0] = 0;
	if (nbd_sysfs_backend(index, backend, sizeof(backend)) > 0)
		printf("/dev/nbd%d: connected to %s", index, backend);
	else
		printf("/dev/nbd%d: connected", index);
	printf(links[0] ? " (%s)\n" : "\n", links);
}

/* One device as a JSON object (no newline). */
static void device_json(int index, bool connected)
{
	char backend[512], links[4096];
	int b = nbd_sysfs_backend(index, backend, sizeof(backend));

	printf("{\"device\": \"/dev/nbd%d\", \"index\": %d, \"connected\": %s, \"backend\": ",
	       index, index, connected ? "true" : "false");
	if (b > 0)
		report_json_string(stdout, backend);
	else
		printf("null");
	state_describe(index, 1, links, sizeof(links));
	if (links[0])
		printf(", \"connections\": %s", links);
	printf("}");
}

/*
 * -c and --status ask sysfs, not netlink: it answers for devices attached
 * either way, without privilege, and loads no module (without one, no
 * device is connected).
 */
/* The device's index and its pid file: 1 connected, 0 not, -1 error. */
static int device_pid(const struct nbd_config *cfg, int *index, char *pid,
		      size_t len, struct nbd_err *e)
{
	*index = nbd_dev_index(cfg->device, e);
	if (*index < 0)
		return -1;
	return nbd_sysfs_pid(*index, pid, len, e);
}

int attach_pid(const struct nbd_config *cfg, struct nbd_err *e)
{
	char pid[64];
	int index, r;

	r = device_pid(cfg, &index, pid, sizeof(pid), e);
	if (r == 1)
		fputs(pid, stdout);
	return r;
}

int attach_status(const struct nbd_config *cfg, bool json, struct nbd_err *e)
{
	char pid[64];
	int index, r;

	r = device_pid(cfg, &index, pid, sizeof(pid), e);
	if (r < 0)
		return -1;
	if (json) {
		device_json(index, r == 1);
		printf("\n");
	} else if (r == 1) {
		print_backend(index);
	} else {
		printf("/dev/nbd%d: not connected\n", index);
	}
	return r;
}

static void list_json(const struct nbd_dev_status *st, size_t n)
{
	size_t i;

	printf("[");
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		device_json(st[i].index, st[i].connected);
	}
	printf("]\n");
}

static int cmp_status(const void *a, const void *b)
{
	return ((const struct nbd_dev_status *)a)->index -
	       ((const struct nbd_dev_status *)b)->index;
}

int attach_list_devices(bool json, struct nbd_err *e)
{
	struct nbd_dev_status *st;
	struct nbd_nl *nl;
	size_t n = 0, i;
	int r;

	r = open_nl(NULL, &nl, e);
	if (r <= 0)
		return r < 0 ? -1 : err_set(e, "--list-devices needs the nbd netlink interface, which this kernel lacks");
	st = calloc(MAX_DEVICES, sizeof(*st));
	if (!st) {
		nbd_nl_close(nl);
		return err_set(e, "out of memory");
	}
	r = nbd_nl_status(nl, -1, st, MAX_DEVICES, &n, e);
	nbd_nl_close(nl);
	if (r == 0) {
		qsort(st, n, sizeof(*st), cmp_status);
		if (json)
			list_json(st, n);
		for (i = 0; !json && i < n; i++) {
			if (st[i].connected)
				print_backend(st[i].index);
			else
				printf("/dev/nbd%d: not connected\n", st[i].index);
		}
	}
	free(st);
	return r;
}
