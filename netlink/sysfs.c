// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs attributes of nbd devices, and kernel errno -> message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The kernel's own default limit (BLK_DEF_MAX_SECTORS, 6.1), for kernels
 * that do not take 0 to restore it. */
#define DEFAULT_MAX_SECTORS_KB 1280u

int nbd_sysfs_limit_open(int index, uint32_t *hw_kb, struct nbd_err *e)
{
	char path[80], buf[32];
	int fd;

	*hw_kb = 0;
	if (nbd_sysfs_attr(index, "queue/max_hw_sectors_kb", buf, sizeof(buf)) > 0)
		*hw_kb = (uint32_t)strtoul(buf, NULL, 10);
	snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/max_sectors_kb",
		 index);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "cannot open %s", path);
	return fd;
}

static int write_kb(int fd, uint32_t kb)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", kb);
	ssize_t w;

	do
		w = pwrite(fd, buf, (size_t)n, 0);
	while (w < 0 && errno == EINTR);
	return w == n ? 0 : -1;
}

int nbd_sysfs_limit_requests(int fd, int index, uint32_t hw_kb,
			     uint32_t bytes, struct nbd_err *e)
{
	uint32_t kb = bytes / 1024;

	if (!bytes) {
		/* 0 restores the default on kernels that have max_user_sectors
		 * (6.10 and later); older ones take the default's value */
		if (write_kb(fd, 0) == 0)
			return 0;
		kb = hw_kb && hw_kb < DEFAULT_MAX_SECTORS_KB
			     ? hw_kb
			     : DEFAULT_MAX_SECTORS_KB;
	} else if (hw_kb && kb > hw_kb) {
		return 0;	/* the kernel's own limit is lower already */
	}
	if (write_kb(fd, kb) == 0)
		return 0;
	if (!bytes)
		return err_errno(e, errno, "cannot restore the default request size limit of /dev/nbd%d (queue/max_sectors_kb)",
				 index);
	return err_errno(e, errno, "cannot limit the requests of /dev/nbd%d to the server's maximum payload of %u bytes (queue/max_sectors_kb %u)",
			 index, bytes, kb);
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
