/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resident per-device process (-persist, TLS, the ioctl interface,
 * which needs a process blocked in NBD_DO_IT, and -nofork).  It watches
 * every link of the device (device.h): the kernel shuts a link's socket
 * down when it marks it dead, plaintext or TLS, whatever the cause; a
 * periodic status check and, with -persist, NBD_CMD_LINK_DEAD events
 * (subscribed before CONNECT) back that up.  With -persist it reconnects each
 * dead link through the same pipeline as the first attach, with
 * exponential backoff, and gives up for good (disconnecting the device,
 * exit status 1) when the server offers a different export; without it a
 * dead link is only logged (and its proxy reaped).  The links of a device
 * it adopted (adopt.h) are the kernel's alone, and it cannot watch them: a
 * LINK_DEAD event for the device that no death of its own links explains
 * (within MONITOR_EVENT_DUE_MS) is one of them dying.  SIGTERM/SIGINT end it
 * at once, even mid-negotiation; it also ends when the device is
 * disconnected, or found attached again by another process (its pid in
 * sysfs is not the one it started the device with).
 */
#ifndef NBDC_MONITOR_H
#define NBDC_MONITOR_H

#include "device.h"

/* The first reconnect of a dead link waits this long, then 1, 2, 4... s. */
#define MONITOR_GRACE_MS 100
#define MONITOR_BACKOFF_MAX_S 30
/* How often the device's state is asked for when nothing happens. */
#define MONITOR_STATUS_POLL_MS 2000
/* How long after one of our links died its LINK_DEAD event may come (an
 * event that no death of ours explains is an adopted link's). */
#define MONITOR_EVENT_DUE_MS 2000

/* In a freshly forked child: new session, stdio to /dev/null, cwd /. */
int monitor_detach(void);
/* SIGTERM/SIGINT as a readable fd (the device's stop_fd: every wait of
 * the pipeline polls it); SIGPIPE and SIGHUP ignored.  The fd, or -1. */
int monitor_stop_signals(struct nbd_err *e);
/* Once resident: preload what a thread's end needs, tell systemd READY=1
 * ($NOTIFY_SOCKET), lock the memory with -swap, mark the process an I/O
 * flusher where it reconnects. */
void monitor_settle(struct nbd_device *d);
/* Runs until the device is disconnected or a stop signal; returns the exit
 * status. */
int monitor_run(struct nbd_device *d);

#endif
