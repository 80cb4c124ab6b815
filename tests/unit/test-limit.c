// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A request size limit applied by a child (limit.h), against a plain file
 * standing in for queue/max_sectors_kb: the number it writes, the error
 * it sends back word for word, and a child that ends without a word; and
 * sandbox_close_others, which its child calls to hold nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limit.h"
#include "sandbox.h"
#include "tap.h"

static char file[] = "/tmp/test-limit.XXXXXX";

static const char *contents(void)
{
	static char buf[64];
	ssize_t n;
	int fd = open(file, O_RDONLY);

	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* Run one job through limit_fd to its end; its result, e as it left it. */
static int run(int limit_fd, uint32_t hw_kb, uint32_t max, struct nbd_err *e)
{
	struct limit_job j;
	struct pollfd p;
	pid_t pid;
	int r, st = -1;

	limit_job_init(&j);
	if (limit_job_start(&j, limit_fd, 7, hw_kb, max, e) < 0)
		return -2;
	pid = j.pid;
	p = (struct pollfd){ .fd = j.fd, .events = POLLIN };
	ok(poll(&p, 1, 10000) == 1, "max %u: its word comes", max);
	r = limit_job_finish(&j, e);
	ok(j.fd == -1 && j.pid == -1 && j.max == 0, "max %u: the job is over", max);
	waitpid(pid, &st, 0);
	is_int(st, 0, "max %u: the child exits 0", max);
	return r;
}

/* In a child: of six descriptors, the two kept (given out of order) and
 * 0..2 stay open, the other four are closed. */
static void close_others(void)
{
	int fds[6], keep[2], i, mask = 0, st = -1;
	pid_t pid;

	for (i = 0; i < 6; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	keep[0] = fds[4];
	keep[1] = fds[1];
	pid = fork();
	if (pid == 0) {
		sandbox_close_others(keep, 2);
		for (i = 0; i < 6; i++)
			if (fcntl(fds[i], F_GETFD) >= 0)
				mask |= 1 << i;
		if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 &&
		    fcntl(2, F_GETFD) >= 0)
			mask |= 1 << 6;
		_exit(mask);
	}
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 1 << 6 | 1 << 4 | 1 << 1,
	       "sandbox_close_others: only 0..2 and the two kept stay open");
	for (i = 0; i < 6; i++)
		close(fds[i]);
}

int main(void)
{
	struct nbd_err e = { "(untouched)" };
	struct limit_job j;
	int fd, p[2];

	fd = mkstemp(file);
	if (fd < 0) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return 1;
	}
	is_int(run(fd, 1280, 32768, &e), 0, "32 KiB: applied");
	is_str(contents(), "32\n", "32 KiB: 32 written");
	is_str(e.msg, "(untouched)", "32 KiB: no error");
	if (ftruncate(fd, 0) < 0)
		return 1;
	is_int(run(fd, 1280, 4u << 20, &e), 0, "4 MiB, above the device's own: applied");
	is_str(contents(), "0\n", "4 MiB: the kernel's default (0) written");
	close(fd);

	fd = open(file, O_RDONLY);
	is_int(run(fd, 1280, 65536, &e), -1, "a file it cannot write: not applied");
	is_str(e.msg, "cannot limit the requests of /dev/nbd7 to the server's maximum payload of 65536 bytes (queue/max_sectors_kb 64): Bad file descriptor",
	       "the child's own message, word for word");
	close(fd);

	/* a child gone without a word */
	if (pipe(p) < 0)
		return 1;
	close(p[1]);
	j = (struct limit_job){ .fd = p[0], .pid = 12345, .max = 8192 };
	is_int(limit_job_finish(&j, &e), -1, "no word: not applied");
	is_str(e.msg, "the process that limits the requests (pid 12345) ended without a word",
	       "no word: says so");
	unlink(file);
	close_others();
	return tap_done();
}
