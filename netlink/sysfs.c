// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs attributes of nbd devices (and the small kernel files they are,
 * /proc/sys too), and kernel errno -> message.
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

int nbd_kfile_read(int dirfd, const char *name, char *buf, size_t len)
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

int nbd_kfile_write_ul(int fd, unsigned long v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lu\n", v);
	ssize_t w;

	do
		w = pwrite(fd, buf, (size_t)n, 0);
	while (w < 0 && errno == EINTR);
	if (w == n)
		return 0;
	if (w >= 0)
		errno = EIO;
	return -1;
}

static int read_attr(int index, const char *attr, char *buf, size_t len)
{
	char path[64];

	if (index < 0 || !len) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/block/nbd%d/%s", index, attr);
	return nbd_kfile_read(AT_FDCWD, path, buf, len);
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
	if (nbd_kfile_read(dirfd, "pid", buf, len) >= 0)
		return 1;
	return errno == ENOENT || errno == ENODEV ? 0 : -1;
}

int nbd_sysfs_backend(int index, char *buf, size_t len)
{
	return nbd_sysfs_attr(index, "backend", buf, len);
}

/* nbd's own request limit (max_sectors 256) on the kernels that do not
 * take 0 to restore the default: 6.1 has it, as has every kernel before
 * the queue limits became atomic; 6.12's default is the block layer's
 * 1280 KiB, and it takes 0. */
#define NBD_OLD_DEFAULT_KB 128u

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

/* Best effort: a limit left smaller than the default loses nothing. */
static void restore_default(int fd, uint32_t hw_kb)
{
	if (nbd_kfile_write_ul(fd, 0) == 0)
		return;
	nbd_kfile_write_ul(fd, hw_kb && hw_kb < NBD_OLD_DEFAULT_KB ? hw_kb
							  : NBD_OLD_DEFAULT_KB);
}

int nbd_sysfs_limit_requests(int fd, int index, uint32_t hw_kb,
			     uint32_t bytes, struct nbd_err *e)
{
	uint32_t kb = bytes / 1024;

	/* no maximum, or one above what the kernel can send anyway: the
	 * kernel's default, also where an earlier attach left a limit */
	if (!bytes || (hw_kb && kb >= hw_kb)) {
		restore_default(fd, hw_kb);
		return 0;
	}
	if (nbd_kfile_write_ul(fd, kb) == 0)
		return 0;
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
