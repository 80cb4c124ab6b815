/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A smaller request size limit, applied by a child process while the
 * monitor goes on.
 *
 * A reconnect may find a smaller maximum payload than the device was
 * attached with; the limit (queue/max_sectors_kb) must then follow.  On
 * 6.12 writing it freezes the queue, and a freeze waits for every request
 * in flight: requests that wait through an outage wait for a connection.
 * Written before the new connection is the kernel's, that is a deadlock
 * that only the dead-connection timeout breaks, with I/O errors; written
 * after it by the monitor itself, a second outage before those requests
 * are answered blocks the monitor that would end it.  So a child writes
 * it, the monitor waits for its word on a pipe, and reconnects meanwhile.
 */
#ifndef NBDC_LIMIT_H
#define NBDC_LIMIT_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct limit_job {
	int fd;		/* readable when the child is done; -1: none running */
	pid_t pid;
	uint32_t max;	/* the limit it applies, in bytes */
};

void limit_job_init(struct limit_job *j);
/*
 * Start applying max bytes (nbd_sysfs_limit_requests) through limit_fd,
 * the open queue/max_sectors_kb of /dev/nbd<index>, whose own maximum is
 * hw_kb.  -1 with e set where no child could start (nothing running).
 */
int limit_job_start(struct limit_job *j, int limit_fd, int index,
		    uint32_t hw_kb, uint32_t max, struct nbd_err *e);
/*
 * The child's word, once j->fd is readable (it waits for it otherwise):
 * 0 applied, -1 e says why not.  The job is over either way; the caller
 * reaps the child.
 */
int limit_job_finish(struct limit_job *j, struct nbd_err *e);

#endif
