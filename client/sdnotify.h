/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's readiness protocol without libsystemd: one datagram to
 * $NOTIFY_SOCKET.  Lets nbd@.service be Type=notify, so that its start job
 * ends when the device is attached, not when the process starts.
 */
#ifndef NBDC_SDNOTIFY_H
#define NBDC_SDNOTIFY_H

/* Send "READY=1" (and MAINPID when the sender is not the process systemd
 * started).  Does nothing without $NOTIFY_SOCKET; 0, or -1 with errno. */
int sd_notify_ready(int with_mainpid);

#endif
