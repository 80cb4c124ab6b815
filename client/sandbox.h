/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Least privilege for the processes that stay behind: the TLS proxy and
 * the resident monitor.  Each finishes its set-up with privilege, then
 * drops what it no longer needs for good: capabilities (the bounding set
 * included), the uid (the proxy only), dumpability, and the system calls
 * it never makes (a seccomp filter, libseccomp).
 *
 *   proxy:   no capabilities, uid/gid 65534, no_new_privs, not dumpable;
 *            a forbidden call is SIGSYS: a tiny handler writes a
 *            struct sandbox_report to the report fd and _exits
 *            SANDBOX_EXIT, and the parent names the call
 *            (sandbox_report_read).
 *   monitor: only the capabilities its reconnects need (sandbox.c says
 *            which and why), no_new_privs, not dumpable; a forbidden call
 *            fails with EPERM and its caller reports it.
 */
#ifndef NBDC_SANDBOX_H
#define NBDC_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The uid and gid a proxy runs as: Debian's nobody and nogroup.  Fixed,
 * not looked up: a proxy started after switch_root may find no
 * /etc/passwd, and a lookup could load NSS modules into it. */
#define SANDBOX_PROXY_UID 65534
#define SANDBOX_PROXY_GID 65534

/* A proxy's exit status after its sandbox stopped it (128 + SIGSYS, what
 * a shell shows for a process killed by SIGSYS). */
#define SANDBOX_EXIT 159

#define SANDBOX_REPORT_MAGIC 0x53595343u	/* "SYSC" */

/* What a proxy's SIGSYS handler writes (one write, atomic on a pipe). */
struct sandbox_report {
	uint32_t magic;
	int32_t nr;		/* the system call's number */
	uint32_t arch;		/* its AUDIT_ARCH_* */
};

enum sandbox_role { SANDBOX_PROXY, SANDBOX_MONITOR };

/*
 * The proxy's drop, after everything it must open is open: capabilities
 * (bounding and ambient sets too), uid/gid 65534 with no supplementary
 * groups, no_new_privs, not dumpable, and its filter.  report_fd gets a
 * struct sandbox_report if a forbidden call is made.
 */
int sandbox_proxy(int report_fd, struct nbd_err *e);
/* The monitor's drop, once resident. */
int sandbox_monitor(struct nbd_err *e);

/*
 * _exit for a sandboxed process: exit_group itself, without the exit
 * hooks a sanitizer adds to _exit (LeakSanitizer's check needs ptrace
 * and /proc, which the proxy's filter forbids).
 */
void sandbox_exit(int status) __attribute__((noreturn));

/* The steps, for the tests. */
int sandbox_caps(enum sandbox_role role, struct nbd_err *e);
int sandbox_filter(enum sandbox_role role, int report_fd, struct nbd_err *e);

/*
 * The parent's side: read a report from fd (non-blocking).  1 and the
 * call's name in name ("openat", or "syscall 999" when libseccomp does not
 * know it) when there was one, 0 when not.
 */
int sandbox_report_read(int fd, char *name, size_t len);
/* The name of system call nr on arch (an AUDIT_ARCH_* value). */
void sandbox_call_name(int nr, uint32_t arch, char *name, size_t len);

/*
 * Close every file descriptor above 2 but keep[0..n-1] (each above 2, n
 * at most SANDBOX_KEEP_MAX): a forked child holds nothing of its
 * parent's but what it needs (close_range, or close one by one).
 */
#define SANDBOX_KEEP_MAX 4
void sandbox_close_others(const int *keep, unsigned int n);

/* Running under valgrind (make check-valgrind), whose own system calls a
 * seccomp filter would bind too: sandbox_proxy and sandbox_monitor then
 * do nothing. */
bool sandbox_under_valgrind(void);

#endif
