// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs attributes of nbd devices, and kernel errno -> message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"

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
