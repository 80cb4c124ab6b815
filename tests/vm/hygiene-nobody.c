// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hygiene-nobody PROG ARGS...: run PROG as uid/gid 65534 with no
 * supplementary groups (setpriv --reuid=65534 --regid=65534
 * --clear-groups; the guest's busybox setpriv cannot).
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROG ARGS...\n", argv[0]);
		return 2;
	}
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0) {
		perror("hygiene-nobody");
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
