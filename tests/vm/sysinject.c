/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysinject: make a running process attempt one system call it never
 * makes, for tests/vm/85-sandbox.t.
 *
 *   sysinject PID NAME
 *
 * Attaches to PID with ptrace (root: CAP_SYS_PTRACE reaches a process
 * that is not dumpable), waits for its next system call entry and turns
 * that call into NAME (openat, socket: the numbers below) with harmless
 * arguments, then detaches.  Since Linux 4.8 seccomp checks the call again
 * after the tracer changed it, so a process under a filter that forbids
 * NAME meets its filter exactly as if it had made the call itself.  Exits
 * 0 once the call is changed, 1 on any error (printed).  Waits at most 10
 * seconds for a system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int call_nr(const char *name)
{
	if (strcmp(name, "openat") == 0)
		return SYS_openat;
	if (strcmp(name, "socket") == 0)
		return SYS_socket;
	return -1;
}

/* the tracee's next syscall-entry stop; 0, or -1 */
static int next_entry(pid_t pid)
{
	struct __ptrace_syscall_info info;
	time_t end = time(NULL) + 10;
	int st;

	while (time(NULL) < end) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0)
			return -1;
		if (waitpid(pid, &st, __WALL) < 0 || !WIFSTOPPED(st))
			return -1;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0)
			return -1;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

int main(int argc, char **argv)
{
	struct user_regs_struct r;
	pid_t pid;
	int nr, st;

	if (argc != 3 || (pid = atoi(argv[1])) <= 0 || (nr = call_nr(argv[2])) < 0) {
		fprintf(stderr, "usage: sysinject PID openat|socket\n");
		return 2;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) < 0 ||
	    ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 ||
	    waitpid(pid, &st, __WALL) < 0) {
		fprintf(stderr, "sysinject: cannot attach to %d: %s\n", pid, strerror(errno));
		return 1;
	}
	if (next_entry(pid) < 0 || ptrace(PTRACE_GETREGS, pid, 0, &r) < 0) {
		fprintf(stderr, "sysinject: %d made no system call: %s\n", pid, strerror(errno));
		return 1;
	}
	r.orig_rax = nr;
	if (nr == SYS_openat) {
		r.rdi = (unsigned long long)AT_FDCWD;
		r.rsi = 0;	/* a bad address: EFAULT, were it allowed */
		r.rdx = O_RDONLY;
	} else {
		r.rdi = 2;	/* AF_INET */
		r.rsi = 1;	/* SOCK_STREAM */
		r.rdx = 0;
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, &r) < 0 || ptrace(PTRACE_DETACH, pid, 0, 0) < 0) {
		fprintf(stderr, "sysinject: cannot change the call of %d: %s\n", pid, strerror(errno));
		return 1;
	}
	return 0;
}
