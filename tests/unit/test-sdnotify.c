// SPDX-License-Identifier: GPL-2.0-or-later
/* sd_notify_ready: the datagram systemd reads from $NOTIFY_SOCKET. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "tap.h"

/* A datagram socket bound at path ('@' first: abstract). */
static int listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		return -1;
	return fd;
}

static void got(int fd, const char *want, const char *what)
{
	char buf[128] = "";
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = 0;
	is_str(buf, want, "%s", what);
}

int main(void)
{
	char path[64], abs[64], pidmsg[64];
	int fd;

	unsetenv("NOTIFY_SOCKET");
	is_int(sd_notify_ready(0), 0, "no NOTIFY_SOCKET: nothing to do");

	snprintf(path, sizeof(path), "/tmp/nbdc-notify.%d", (int)getpid());
	unlink(path);
	fd = listener(path);
	ok(fd >= 0, "a socket at %s", path);
	setenv("NOTIFY_SOCKET", path, 1);
	is_int(sd_notify_ready(0), 0, "READY sent");
	got(fd, "READY=1", "the datagram is READY=1");
	is_int(sd_notify_ready(1), 0, "READY with MAINPID sent");
	snprintf(pidmsg, sizeof(pidmsg), "READY=1\nMAINPID=%d", (int)getpid());
	got(fd, pidmsg, "the datagram names our pid");
	close(fd);
	unlink(path);

	snprintf(abs, sizeof(abs), "@nbdc-notify-%d", (int)getpid());
	fd = listener(abs);
	ok(fd >= 0, "an abstract socket %s", abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	is_int(sd_notify_ready(0), 0, "READY sent to the abstract socket");
	got(fd, "READY=1", "it arrives");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	errno = 0;
	ok(sd_notify_ready(0) == -1 && errno == EINVAL, "a relative path is refused (EINVAL)");
	setenv("NOTIFY_SOCKET", "/nonexistent/nbdc/notify", 1);
	ok(sd_notify_ready(0) == -1, "a socket that is not there: -1");
	return tap_done();
}
