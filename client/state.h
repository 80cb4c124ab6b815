/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which data path each connection of an attached device took (plaintext,
 * TLS proxy, kernel TLS), kept in NBD_STATE_DIR/nbdN for --status and
 * --list-devices: the kernel knows only that it has sockets.  Written by
 * the process that attached the device, and again by the monitor after
 * each reconnect (through a directory fd opened beforehand: after
 * switch_root it finds no /run of its own).  A file is current only while
 * /sys/block/nbdN/pid, the pid that attached, is the pid it names.
 */
#ifndef NBDC_STATE_H
#define NBDC_STATE_H

#include <stddef.h>
#include <sys/types.h>

#define NBD_STATE_DIR "/run/nbd-client"
#define NBD_STATE_MAX_LINKS 64

struct state_link {
	const char *path;	/* "plaintext", "TLS proxy", "kernel TLS" */
	const char *tls;	/* "TLS1.3, AES-128-GCM", or "" */
};

/* Open (creating it) NBD_STATE_DIR; -1 if that cannot be done (the
 * device works without it). */
int state_dir_open(void);
/* Replace dirfd/name with pid and one line per link.  0, or -1 (errno). */
int state_write(int dirfd, const char *name, pid_t pid,
		const struct state_link *l, unsigned int n);
/*
 * Describe device index's connections in buf: "" when unknown, else e.g.
 * "kernel TLS, TLS1.3, AES-128-GCM" or, when they differ,
 * "connection 1: ...; connection 2: ...".  json: a JSON array of
 * {"path": ..., "tls": ...} objects instead ("" when unknown).
 */
void state_describe(int index, int json, char *buf, size_t len);

#endif
