// SPDX-License-Identifier: GPL-2.0-or-later
/* NBD_STATE_DIR/nbdN.args: see argsfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argsfile.h"

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s) + 1, done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, s + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int argsfile_write(int dirfd, const char *name, const char *cwd,
		   char *const *argv)
{
	char tmp[80], file[80];
	int fd, r = 0, i;

	snprintf(tmp, sizeof(tmp), ".%s.args.%d.tmp", name, (int)getpid());
	snprintf(file, sizeof(file), "%s.args", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, cwd) < 0)
		r = -1;
	for (i = 1; r == 0 && argv[i]; i++)
		r = write_all(fd, argv[i]);
	if (close(fd) < 0)
		r = -1;
	if (r == 0)
		r = renameat(dirfd, tmp, dirfd, file);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

static ssize_t read_file(int fd, char *buf, size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max) {
		n = read(fd, buf + got, max - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	errno = EFBIG;
	return -1;
}

/* buf[0..len) is NUL-ended strings: the first is cwd, the rest argv. */
static int split(struct argsfile *a, size_t len)
{
	size_t i;
	int n = 0;

	if (!len || a->buf[len - 1]) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < len; i++)
		n += !a->buf[i];
	a->argv = calloc((size_t)n + 1, sizeof(*a->argv));
	if (!a->argv)
		return -1;
	a->cwd = a->buf;
	a->argv[0] = "nbd-client";
	a->argc = 1;
	for (i = strlen(a->buf) + 1; i < len; i += strlen(a->buf + i) + 1)
		a->argv[a->argc++] = a->buf + i;
	return 0;
}

int argsfile_read(int dirfd, const char *name, struct argsfile *a)
{
	char file[80];
	ssize_t len;
	int fd, err;

	memset(a, 0, sizeof(*a));
	snprintf(file, sizeof(file), "%s.args", name);
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	a->buf = malloc(ARGSFILE_MAX + 1);
	len = a->buf ? read_file(fd, a->buf, ARGSFILE_MAX + 1) : -1;
	err = errno;
	close(fd);
	if (len >= 0 && split(a, (size_t)len) == 0)
		return 0;
	err = len >= 0 ? errno : err;
	argsfile_free(a);
	errno = err;
	return -1;
}

void argsfile_free(struct argsfile *a)
{
	free(a->buf);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}
