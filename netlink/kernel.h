/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel attach layer: hand connected sockets to the nbd driver, either
 * over generic netlink (family "nbd", the default) or with the legacy
 * ioctls on /dev/nbdN (-L / -nonetlink).
 *
 * Conventions: functions return -1 after filling the caller's struct
 * nbd_err (one line, no trailing newline); nothing here prints.  The
 * sockets in struct nbd_attach stay owned by the caller: the kernel takes
 * its own reference during CONNECT / NBD_SET_SOCK, so the caller may close
 * its copies once the call returned.
 */
#ifndef NBDC_KERNEL_H
#define NBDC_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devname.h"
#include "err.h"

/* nbd_nl_open(): the "nbd" generic netlink family does not exist (module
 * missing and not loadable, or a kernel without the netlink interface).
 * e is set; the caller may fall back to the ioctl interface. */
#define NBD_NL_NOFAMILY (-2)


/* Kernel default when no block size is given (NBD_DEF_BLKSIZE). */
#define NBD_DEFAULT_BLKSIZE 1024

struct nbd_attach {
	int index;		/* -1: let the kernel choose (netlink only) */
	uint64_t size;		/* bytes */
	uint64_t block_size;	/* bytes; 0 = kernel default (1024) */
	uint64_t server_flags;	/* transmission flags (NBD_FLAG_*), READ_ONLY
				 * already ORed in for -R */
	uint64_t client_flags;	/* NBD_CFLAG_*; 0 = attribute not sent */
	unsigned int timeout;	/* per-request timeout seconds, 0 = unset */
	unsigned int dead_timeout; /* seconds, 0 = unset (netlink only) */
	const int *fds;		/* connected sockets to hand over */
	unsigned int nfds;
	const char *identifier;	/* NBD_ATTR_BACKEND_IDENTIFIER, NULL = none
				 * (netlink only) */
	unsigned int busy_wait_ms; /* how long CONNECT waits for a device
				    * that is busy but not connected */
};

/* How often CONNECT tries again a device that something has open. */
#define NBD_BUSY_RETRY_MS 100
/* A started device busy this long is taken to be connected. */
#define NBD_BUSY_STARTED_MS 2000

struct nbd_dev_status {
	int index;
	bool connected;
};

/* ---- sysfs (sysfs.c) ---- */

/*
 * Small kernel files (sysfs attributes, /proc/sys): nbd_kfile_read reads
 * name under dirfd (AT_FDCWD: a path) as it is into buf, NUL-terminated,
 * at most len - 1 bytes (len > 0): its length, or -1 with errno set.
 * nbd_kfile_write_ul writes v and a newline at offset 0 of fd: 0, or -1
 * with errno set (EIO for a short write).
 */
int nbd_kfile_read(int dirfd, const char *name, char *buf, size_t len);
int nbd_kfile_write_ul(int fd, unsigned long v);

/*
 * Read /sys/block/nbd<index>/<attr> into buf (NUL-terminated, trailing
 * newline removed).  Returns the length, or -1 with errno set (ENOENT:
 * absent).  No struct nbd_err: absence is often the expected answer.
 */
int nbd_sysfs_attr(int index, const char *attr, char *buf, size_t len);

/*
 * /sys/block/nbd<index>/pid as it is (the pid and a newline) into buf,
 * NUL-terminated.  The kernel creates it when the device starts
 * (NBD_CMD_CONNECT, or NBD_DO_IT with the ioctls), holding the pid of the
 * task that started it, and removes it with the connection's last
 * reference.  1 present, 0 absent (not connected, no such device, no nbd
 * module), -1 with e set when it cannot be read.
 */
int nbd_sysfs_pid(int index, char *buf, size_t len, struct nbd_err *e);
/*
 * The same through /sys/block/nbd<index> opened beforehand (a resident
 * process may see no /sys of its own after switch_root): nbd_sysfs_open
 * returns the directory's fd, or -1 (errno); nbd_sysfs_pid_at 1 present,
 * 0 absent, -1 (errno) unreadable.
 */
int nbd_sysfs_open(int index);
int nbd_sysfs_pid_at(int dirfd, char *buf, size_t len);

/* /sys/block/nbdN/backend (kernel >= 5.x, netlink devices only).  Returns
 * the length (0: no identifier), or -1 with errno set if absent. */
int nbd_sysfs_backend(int index, char *buf, size_t len);

/*
 * The request size limit (queue/max_sectors_kb): opened once for writing
 * and kept, so that a resident process can apply it again after
 * switch_root.  *hw_kb: the device's own maximum (0: unknown).  The fd, or
 * -1 with e set.
 */
int nbd_sysfs_limit_open(int index, uint32_t *hw_kb, struct nbd_err *e);
/*
 * Limit every request to bytes (a multiple of 1024, at least a page), or
 * restore the kernel's default with 0 (also for a maximum at or above the
 * kernel's own; best effort, never an error).  The device keeps it across
 * connect, reconnect and disconnect.  0, or -1 with e set.
 */
int nbd_sysfs_limit_requests(int fd, int index, uint32_t hw_kb,
			     uint32_t bytes, struct nbd_err *e);

/*
 * Turn a kernel errno from a netlink command or ioctl into the one-line
 * message: "<what>: Operation not permitted (are you root?)" for
 * EPERM/EACCES; "/dev/nbdN is busy (already connected? try nbd-client -d
 * /dev/nbdN)" for EBUSY with index >= 0; "<what>: <strerror> (see dmesg)"
 * otherwise.  Always returns -1.
 */
int nbd_kernel_error(struct nbd_err *e, int errnum, const char *what,
		     int index);
/*
 * Attaching and disconnecting need CAP_SYS_ADMIN (the kernel checks it on
 * every nbd ioctl and netlink command but STATUS): say so before
 * connecting.  what: "attach", "disconnect".  0 or -1 with e set.
 */
int nbd_require_admin(const char *what, struct nbd_err *e);

/* ---- module loading (kmod.c) ---- */

/* Load the "nbd" module with libkmod unless /sys/module/nbd exists. */
int nbd_kmod_load(struct nbd_err *e);
/* The same for "tls" (kernel TLS), unless /sys/module/tls exists. */
int nbd_kmod_load_tls(struct nbd_err *e);

/* ---- generic netlink (nl.c) ---- */

struct nbd_nl;
struct nl_msg;

/*
 * Connect to generic netlink and resolve the "nbd" family; if it is
 * missing, load the module (nbd_kmod_load) and retry once.
 * Returns 0, -1 (error), or NBD_NL_NOFAMILY (family absent, e says why).
 */
int nbd_nl_open(struct nbd_nl **out, struct nbd_err *e);
void nbd_nl_close(struct nbd_nl *nl);

/* NBD_CMD_CONNECT.  *index_out: the device the kernel used. */
int nbd_nl_connect(struct nbd_nl *nl, const struct nbd_attach *a,
		   int *index_out, struct nbd_err *e);
/* NBD_CMD_DISCONNECT.  Succeeds on an existing but unconnected device. */
int nbd_nl_disconnect(struct nbd_nl *nl, int index, struct nbd_err *e);
/*
 * NBD_CMD_RECONFIGURE with new sockets (replacing dead ones) and, when
 * nonzero, new timeouts.  The kernel insists on the backend identifier
 * when the device has one: pass it (a resident process must not depend on
 * any path: after switch_root it may see no /sys at all), or NULL to read
 * it from /sys/block/nbdN/backend.
 */
int nbd_nl_reconfigure(struct nbd_nl *nl, int index, const int *fds,
		       unsigned int nfds, unsigned int timeout,
		       unsigned int dead_timeout, const char *identifier,
		       struct nbd_err *e);
/*
 * Hand one new socket to a connected device (NBD_CMD_RECONFIGURE) to
 * replace a dead connection.  The kernel puts it in the first slot whose
 * connection is dead and, where none is, drops it and still answers
 * success; it sets a socket it takes to the device's request timeout
 * (SO_SNDTIMEO), which a socket here never has (it is cleared first).  So,
 * on a device with a request timeout (every device that is reconnected
 * has one): 1 the kernel took fd, 0 it had no dead connection and dropped
 * it, -1 with e set on an error.
 */
int nbd_nl_reconnect(struct nbd_nl *nl, int index, int fd,
		     const char *identifier, struct nbd_err *e);
/*
 * NBD_CMD_STATUS for one device (index >= 0) or all (-1).  Fills at most
 * max entries; *n_out = entries written (a device that does not exist
 * gives 0 entries, no error).
 */
int nbd_nl_status(struct nbd_nl *nl, int index, struct nbd_dev_status *out,
		  size_t max, size_t *n_out, struct nbd_err *e);

/* Join "nbd_mc_group" on a second, non-blocking socket (idempotent). */
int nbd_nl_subscribe_link_dead(struct nbd_nl *nl, struct nbd_err *e);
/* The subscribed socket's fd for poll(); -1 before subscribing. */
int nbd_nl_fd(struct nbd_nl *nl);
/*
 * Read one pending datagram without blocking.  Returns 1 with *index_out
 * set if it was NBD_CMD_LINK_DEAD (for any device: filter yourself), 0 if
 * nothing was pending or it was something else, -1 on error.  Call until
 * it returns 0 to drain the socket.
 */
int nbd_nl_recv_link_dead(struct nbd_nl *nl, int *index_out,
			  struct nbd_err *e);

/* -- lower layers, exposed for the unit tests -- */

/* Like nbd_nl_open() for any family, without loading modules. */
int nbd_nl_open_family(struct nbd_nl **out, const char *family,
		       struct nbd_err *e);
int nbd_nl_family(const struct nbd_nl *nl);

/* Called for each reply message (not for ACKs/errors). */
typedef int (*nbd_nl_parse_fn)(struct nl_msg *msg, void *arg,
			       struct nbd_err *e);
/*
 * Send msg (consumed) with NLM_F_ACK, feed every reply to parse (NULL:
 * ignore replies), wait for the ACK.  Returns 0; or -1 with *kerr set to
 * the kernel's errno (e untouched: map it with nbd_kernel_error), or -1
 * with *kerr = 0 and e set for local failures.  With parse non-NULL, no
 * reply before the ACK is an error.
 */
int nbd_nl_transact(struct nbd_nl *nl, struct nl_msg *msg,
		    nbd_nl_parse_fn parse, void *arg, int *kerr,
		    struct nbd_err *e);

/* Build requests (genl header + attributes, NLM_F_ACK), nothing sent. */
int nbd_nl_msg_connect(int family, const struct nbd_attach *a,
		       struct nl_msg **out, struct nbd_err *e);
int nbd_nl_msg_disconnect(int family, int index, struct nl_msg **out,
			  struct nbd_err *e);
int nbd_nl_msg_reconfigure(int family, int index, const int *fds,
			   unsigned int nfds, unsigned int timeout,
			   unsigned int dead_timeout, const char *identifier,
			   struct nl_msg **out, struct nbd_err *e);
int nbd_nl_msg_status(int family, int index, struct nl_msg **out,
		      struct nbd_err *e);

/* Parse kernel messages. */
int nbd_nl_parse_connect_reply(struct nl_msg *msg, int *index_out,
			       struct nbd_err *e);
int nbd_nl_parse_status_reply(struct nl_msg *msg, struct nbd_dev_status *out,
			      size_t max, size_t *n_out, struct nbd_err *e);
/* 1 with *index_out if msg is NBD_CMD_LINK_DEAD with an index, else 0. */
int nbd_nl_parse_link_dead(struct nl_msg *msg, int *index_out);

/* ---- ioctl fallback (ioctl.c) ---- */

/*
 * Open dev ("/dev/nbdN"; a bare "nbdN" gets "/dev/" prepended), refuse if
 * it is already connected, then SET_BLKSIZE, SET_SIZE_BLOCKS (via a 4096
 * temporary block size if size/block_size overflows unsigned long),
 * CLEAR_SOCK, SET_FLAGS, BLKROSET (on iff READ_ONLY), SET_TIMEOUT (if
 * set), SET_SOCK.  Exactly one socket: more need netlink.  identifier,
 * dead_timeout and client_flags have no ioctl and are ignored.
 * *devfd_out: the open device, for nbd_ioctl_do_it().
 */
int nbd_ioctl_setup(const char *dev, const struct nbd_attach *a,
		    int *devfd_out, struct nbd_err *e);
/*
 * Block in NBD_DO_IT until the device is disconnected, then NBD_CLEAR_SOCK.
 * Returns 0 when DO_IT returned 0 or EBADR (a requested disconnect), -1
 * with e set otherwise (ETIMEDOUT, EINTR, ...).  Does not close devfd.
 * Beware: Linux 6.1 also returns 0 when the server went away (only old
 * kernels said EBADR for "requested"), so 0 does not prove a user -d.
 * Install signal handlers without SA_RESTART: a signal ends DO_IT (EINTR).
 */
int nbd_ioctl_do_it(int devfd, struct nbd_err *e);
/* NBD_DISCONNECT then NBD_CLEAR_SOCK (its error ignored). */
int nbd_ioctl_disconnect(const char *dev, struct nbd_err *e);

#endif
