// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs attributes of nbd devices, and kernel errno -> message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kernel.h"

/* dirfd/name as it is, NUL-terminated: its length, or -1 (errno). */
static int read_at(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd, saved;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
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
	buf[n] = '\0';
	return (int)n;
}

static int read_attr(int index, const char *attr, char *buf, size_t len)
{
	char path[64];

	if (index < 0 || !len) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/block/nbd%d/%s", index, attr);
	return read_at(AT_FDCWD, path, buf, len);
}

int nbd_sysfs_attr(int index, const char *attr, char *buf, size_t len)
{
	int n = read_attr(index, attr, buf, len);

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int nbd_sysfs_pid(int index, char *buf, size_t len, struct nbd_err *e)
{
	if (read_attr(index, "pid", buf, len) >= 0)
		return 1;
	/* ENODEV: removed between the open and the read */
	if (errno == ENOENT || errno == ENODEV)
		return 0;
	return err_errno(e, errno, "cannot read /sys/block/nbd%d/pid", index);
}

int nbd_sysfs_open(int index)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/nbd%d", index);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int nbd_sysfs_pid_at(int dirfd, char *buf, size_t len)
{
	if (!len) {
		errno = EINVAL;
		return -1;
	}
	if (read_at(dirfd, "pid", buf, len) >= 0)
		return 1;
	return errno == ENOENT || errno == ENODEV ? 0 : -1;
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

int nbd_require_admin(const char *what, struct nbd_err *e)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	/* cannot tell: let the kernel answer */
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	if (d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &
	    CAP_TO_MASK(CAP_SYS_ADMIN))
		return 0;
	return err_set(e, "only root can %s an nbd device (the kernel requires CAP_SYS_ADMIN)",
		       what);
}
