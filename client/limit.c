// SPDX-License-Identifier: GPL-2.0-or-later
/* A request size limit applied by a child process (limit.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kernel.h"
#include "limit.h"
#include "sandbox.h"

/* The child's word: LIMIT_OK, or LIMIT_ERR and the message. */
#define LIMIT_OK 'o'
#define LIMIT_ERR 'e'

void limit_job_init(struct limit_job *j)
{
	j->fd = -1;
	j->pid = -1;
	j->max = 0;
}

static void job_main(int wfd, int limit_fd, int index, uint32_t hw_kb,
		     uint32_t max)
{
	struct nbd_err e;
	char word[1 + sizeof(e.msg)];
	int keep[2] = { wfd, limit_fd };
	size_t n = 1;
	ssize_t w;

	prctl(PR_SET_NAME, "nbd-limit", 0, 0, 0);
	/* the kernel's sockets, the netlink socket, the state directory
	 * are the monitor's */
	sandbox_close_others(keep, 2);
	word[0] = LIMIT_OK;
	if (nbd_sysfs_limit_requests(limit_fd, index, hw_kb, max, &e) < 0) {
		word[0] = LIMIT_ERR;
		n += strnlen(e.msg, sizeof(e.msg) - 1);
		memcpy(word + 1, e.msg, n - 1);
	}
	/* one write, under PIPE_BUF: the monitor reads it whole */
	do
		w = write(wfd, word, n);
	while (w < 0 && errno == EINTR);
	_exit(w == (ssize_t)n ? 0 : 1);
}

int limit_job_start(struct limit_job *j, int limit_fd, int index,
		    uint32_t hw_kb, uint32_t max, struct nbd_err *e)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_errno(e, errno, "cannot create a pipe for the process that limits the requests of /dev/nbd%d",
				 index);
	pid = fork();
	if (pid < 0) {
		err_errno(e, errno, "cannot start the process that limits the requests of /dev/nbd%d",
			  index);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		job_main(p[1], limit_fd, index, hw_kb, max);
	}
	close(p[1]);
	j->fd = p[0];
	j->pid = pid;
	j->max = max;
	return 0;
}

int limit_job_finish(struct limit_job *j, struct nbd_err *e)
{
	char word[1 + NBD_ERR_MAX];
	ssize_t n;
	int r = 0;

	do
		n = read(j->fd, word, sizeof(word) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = err_errno(e, errno, "cannot read the word of the process that limits the requests (pid %d)",
			      (int)j->pid);
	} else if (n == 0) {
		r = err_set(e, "the process that limits the requests (pid %d) ended without a word",
			    (int)j->pid);
	} else if (word[0] != LIMIT_OK) {
		word[n] = '\0';
		r = err_set(e, "%s", n > 1 ? word + 1 : "the process that limits the requests failed");
	}
	close(j->fd);
	limit_job_init(j);
	return r;
}
