// SPDX-License-Identifier: GPL-2.0-or-later
/* A process by pid and start time: see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/*
 * /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and
 * parentheses, so the fields start after the last ')'.  The state is
 * field 3, the start time field 22.
 */
static int parse_stat(const char *s, char *state, unsigned long long *start)
{
	const char *p = strrchr(s, ')');
	int i;

	if (!p || p[1] != ' ' || !p[2])
		return -1;
	*state = p[2];
	p += 2;
	for (i = 3; i < 22; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return sscanf(p, "%llu", start) == 1 ? 0 : -1;
}

int proc_start_time(pid_t pid, unsigned long long *start)
{
	char path[48], buf[1024], state = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = errno == ENOENT ? ESRCH : errno;
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? errno : ESRCH;
		return -1;
	}
	buf[n] = 0;
	if (parse_stat(buf, &state, start) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (state == 'Z' || state == 'X') {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

bool proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;

	return pid > 0 && proc_start_time(pid, &now) == 0 && now == start;
}
