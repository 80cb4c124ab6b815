// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd device names, sysfs attributes, and kernel errno -> message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"

static int bad_name(struct nbd_err *e, const char *dev)
{
	return err_set(e, "invalid nbd device '%s' (expected /dev/nbdN or nbdN)",
		       dev);
}

/* Parse the decimal index after "nbd"; -1 if it is not a plain number. */
static int parse_index(const char *s, const char *dev, struct nbd_err *e)
{
	long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return bad_name(e, dev);
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return bad_name(e, dev);
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > NBD_MAX_INDEX)
			return err_set(e, "invalid nbd device '%s': index too large (at most %d)",
				       dev, NBD_MAX_INDEX);
	}
	if (*p == 'p' && p[1] >= '0' && p[1] <= '9')
		return err_set(e, "'%s' is a partition: give the whole device, /dev/nbd%ld",
			       dev, v);
	if (*p)
		return bad_name(e, dev);
	return (int)v;
}

int nbd_dev_index(const char *dev, struct nbd_err *e)
{
	const char *s;

	if (!dev || !*dev)
		return err_set(e, "no nbd device given (expected /dev/nbdN or nbdN)");
	s = dev;
	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (strncmp(s, "nbd", 3))
		return bad_name(e, dev);
	return parse_index(s + 3, dev, e);
}

int nbd_sysfs_attr(int index, const char *attr, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd, saved;

	if (index < 0 || !len) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/block/nbd%d/%s", index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	return (int)n;
}

int nbd_sysfs_backend(int index, char *buf, size_t len)
{
	return nbd_sysfs_attr(index, "backend", buf, len);
}

int nbd_kernel_error(struct nbd_err *e, int errnum, const char *what,
		     int index)
{
	switch (errnum) {
	case EPERM:
	case EACCES:
		return err_set(e, "%s: %s (are you root?)", what,
			       strerror(EPERM));
	case EBUSY:
		if (index >= 0)
			return err_set(e, "/dev/nbd%d is busy (already connected? try nbd-client -d /dev/nbd%d)",
				       index, index);
		/* fall through */
	default:
		return err_set(e, "%s: %s (see dmesg)", what,
			       strerror(errnum));
	}
}
