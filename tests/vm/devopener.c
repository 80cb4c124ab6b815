/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devopener: keep opening and closing a block device, as udev does when it
 * probes a device after each change event (blkid, the watch rule).  Built
 * by tests/vm/15-differential.t and installed in the guest as
 * /usr/bin/devopener.
 *
 *   devopener DEV COUNTFILE [PAUSE_US]
 *
 * open(DEV, O_RDONLY) + close in a loop, PAUSE_US microseconds apart
 * (default 0), until SIGTERM; then write the number of opens that
 * succeeded to COUNTFILE.
 *
 * While DEV is open and not connected, the kernel holds a configuration
 * for it, and NBD_CMD_CONNECT for that index fails with EBUSY: this is the
 * race a client attaching right after a detach runs into on a system with
 * udev.  No read: an open alone is what holds the device.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long opens = 0, pause_us = 0;
	FILE *f;
	int fd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: devopener DEV COUNTFILE [PAUSE_US]\n");
		return 2;
	}
	if (argc == 4)
		pause_us = strtoul(argv[3], NULL, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			opens++;
			close(fd);
		}
		if (pause_us)
			usleep(pause_us);
	}
	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fprintf(f, "%lu\n", opens);
	return fclose(f) != 0;
}
