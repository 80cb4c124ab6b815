// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The legacy ioctl interface of the nbd driver (nbd-client -L): the
 * process stays in NBD_DO_IT for as long as the device is connected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/major.h>
#include <linux/nbd.h>

#include "kernel.h"

/* "nbd0" -> "/dev/nbd0"; anything with a slash is used as is. */
static const char *dev_path(const char *dev, char *buf, size_t len)
{
	if (strchr(dev, '/'))
		return dev;
	snprintf(buf, len, "/dev/%s", dev);
	return buf;
}

static int ioctl_error(struct nbd_err *e, int errnum, const char *path,
		       const char *op)
{
	char what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "cannot set up %s (%s)", path, op);
	return nbd_kernel_error(e, errnum, what, nbd_dev_index(path, NULL));
}

static int open_dev(const char *path, struct nbd_err *e)
{
	char what[PATH_MAX + 16];
	int fd, saved;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	saved = errno;
	if ((saved == ENOENT || saved == ENXIO || saved == ENODEV) &&
	    access("/sys/module/nbd", F_OK) == 0)
		return err_set(e, "cannot open %s: %s (the nbd module is loaded, but has no such device; see its nbds_max parameter)",
			       path, strerror(saved));
	if (saved == ENOENT || saved == ENXIO || saved == ENODEV)
		return err_set(e, "cannot open %s: %s (is the nbd module loaded? try modprobe nbd)",
			       path, strerror(saved));
	snprintf(what, sizeof(what), "cannot open %s", path);
	return nbd_kernel_error(e, saved, what, -1);
}

static bool sysfs_dev_has(const struct stat *st, const char *attr)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s",
		 major(st->st_rdev), minor(st->st_rdev), attr);
	return access(path, F_OK) == 0;
}

static int check_nbd(int fd, const char *path, struct stat *st,
		     struct nbd_err *e)
{
	if (fstat(fd, st) < 0)
		return err_errno(e, errno, "cannot stat %s", path);
	if (!S_ISBLK(st->st_mode) || major(st->st_rdev) != NBD_MAJOR)
		return err_set(e, "%s is not an nbd device", path);
	return 0;
}

/* A whole nbd disk with no connection ("pid" exists while connected). */
static int check_idle(int fd, const char *path, struct nbd_err *e)
{
	struct stat st;

	if (check_nbd(fd, path, &st, e) < 0)
		return -1;
	if (sysfs_dev_has(&st, "partition"))
		return err_set(e, "%s is a partition: give the whole nbd device",
			       path);
	if (sysfs_dev_has(&st, "pid"))
		return err_set(e, "%s is busy (already connected? try nbd-client -d %s)",
			       path, path);
	return 0;
}

static bool fits_ulong(uint64_t v)
{
	return v == (uint64_t)(unsigned long)v;
}

static int blksize_error(struct nbd_err *e, int errnum, const char *path,
			 unsigned long bs)
{
	if (errnum == EINVAL)
		return err_set(e, "cannot set up %s: block size %lu rejected (it must be a power of two from 512 to the page size)",
			       path, bs);
	return ioctl_error(e, errnum, path, "NBD_SET_BLKSIZE");
}

/*
 * Like the reference client: if the size in blocks does not fit the
 * unsigned long argument (32-bit), set it in 4096-byte blocks and switch to
 * the real block size afterwards.
 */
static int set_sizes(int fd, const char *path, const struct nbd_attach *a,
		     struct nbd_err *e)
{
	uint64_t bs64 = a->block_size ? a->block_size : NBD_DEFAULT_BLKSIZE;
	unsigned long bs, tmp;

	if (!fits_ulong(bs64))
		return err_set(e, "cannot set up %s: block size %llu too large",
			       path, (unsigned long long)bs64);
	bs = (unsigned long)bs64;
	if (!fits_ulong(a->size >> 12))
		return err_set(e, "cannot set up %s: device too large for the ioctl interface (use netlink)",
			       path);
	tmp = fits_ulong(a->size / bs) ? bs : 4096;
	if (ioctl(fd, NBD_SET_BLKSIZE, tmp) < 0)
		return blksize_error(e, errno, path, tmp);
	if (ioctl(fd, NBD_SET_SIZE_BLOCKS, (unsigned long)(a->size / tmp)) < 0)
		return ioctl_error(e, errno, path, "NBD_SET_SIZE_BLOCKS");
	if (tmp != bs && ioctl(fd, NBD_SET_BLKSIZE, bs) < 0)
		return blksize_error(e, errno, path, bs);
	return 0;
}

static int set_rest(int fd, const char *path, const struct nbd_attach *a,
		    struct nbd_err *e)
{
	int ro = !!(a->server_flags & NBD_FLAG_READ_ONLY);

	(void)ioctl(fd, NBD_CLEAR_SOCK);
	/* Old kernels lack NBD_SET_FLAGS: ignore its errors. */
	(void)ioctl(fd, NBD_SET_FLAGS, (unsigned long)a->server_flags);
	/* Always, so that a stale read-only setting is cleared too. */
	if (ioctl(fd, BLKROSET, &ro) < 0)
		return ioctl_error(e, errno, path, "BLKROSET");
	if (a->timeout &&
	    ioctl(fd, NBD_SET_TIMEOUT, (unsigned long)a->timeout) < 0)
		return ioctl_error(e, errno, path, "NBD_SET_TIMEOUT");
	if (ioctl(fd, NBD_SET_SOCK, (unsigned long)a->fds[0]) < 0)
		return ioctl_error(e, errno, path, "NBD_SET_SOCK");
	return 0;
}

int nbd_ioctl_setup(const char *dev, const struct nbd_attach *a,
		    int *devfd_out, struct nbd_err *e)
{
	char buf[PATH_MAX];
	const char *path;
	int fd;

	if (!dev || !*dev)
		return err_set(e, "the ioctl interface needs a device (e.g. /dev/nbd0)");
	if (!a->nfds || !a->fds || a->fds[0] < 0)
		return err_set(e, "no socket to hand to the kernel");
	if (a->nfds > 1)
		return err_set(e, "multiple connections need netlink (the ioctl interface takes one socket)");
	path = dev_path(dev, buf, sizeof(buf));
	fd = open_dev(path, e);
	if (fd < 0)
		return -1;
	if (check_idle(fd, path, e) < 0 || set_sizes(fd, path, a, e) < 0 ||
	    set_rest(fd, path, a, e) < 0) {
		close(fd);
		return -1;
	}
	*devfd_out = fd;
	return 0;
}

int nbd_ioctl_do_it(int devfd, struct nbd_err *e)
{
	int rc, saved;

	rc = ioctl(devfd, NBD_DO_IT);
	saved = errno;
	(void)ioctl(devfd, NBD_CLEAR_SOCK);
	if (rc >= 0 || saved == EBADR)
		return 0;
	switch (saved) {
	case ETIMEDOUT:
		return err_set(e, "the nbd connection timed out: the server stopped answering (see dmesg)");
	case EINTR:
		return err_set(e, "interrupted by a signal: the nbd device was disconnected");
	default:
		return nbd_kernel_error(e, saved, "the nbd connection failed (NBD_DO_IT)",
					-1);
	}
}

int nbd_ioctl_disconnect(const char *dev, struct nbd_err *e)
{
	char buf[PATH_MAX], what[PATH_MAX + 32];
	const char *path;
	struct stat st;
	int fd, rc = 0;

	if (!dev || !*dev)
		return err_set(e, "no nbd device given (expected /dev/nbdN or nbdN)");
	path = dev_path(dev, buf, sizeof(buf));
	fd = open_dev(path, e);
	if (fd < 0)
		return -1;
	if (check_nbd(fd, path, &st, e) < 0) {
		rc = -1;
	} else if (ioctl(fd, NBD_DISCONNECT) < 0) {
		snprintf(what, sizeof(what), "cannot disconnect %s", path);
		rc = nbd_kernel_error(e, errno, what, -1);
	} else {
		(void)ioctl(fd, NBD_CLEAR_SOCK);
	}
	close(fd);
	return rc;
}
