// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hygiene-relay LISTEN_PORT TARGET_PORT PIDFILE: a TCP relay on 127.0.0.1
 * for tests/vm/55-hygiene.t.  Each connection accepted on LISTEN_PORT is
 * relayed to 127.0.0.1:TARGET_PORT.  On SIGUSR1 every relayed connection
 * is closed with SO_LINGER 0, so both ends get a TCP RST (in the middle
 * of whatever was flowing); new connections are still relayed after that.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 16

static volatile sig_atomic_t reset_now;

static void on_usr1(int sig)
{
	(void)sig;
	reset_now = 1;
}

static int tcp(int port, int listening)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (listening) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(fd, 8) < 0)
			goto fail;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void rst_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Copy what is there from one to the other; -1 when the pair is done. */
static int pass(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf)), off = 0, w;

	if (n <= 0)
		return -1;
	while (off < n) {
		w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int pair[MAX_PAIRS][2], n = 0, lfd, target, i;
	struct pollfd p[1 + 2 * MAX_PAIRS];
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: %s LISTEN_PORT TARGET_PORT PIDFILE\n", argv[0]);
		return 2;
	}
	target = atoi(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	lfd = tcp(atoi(argv[1]), 1);
	if (lfd < 0) {
		perror("listen");
		return 1;
	}
	f = fopen(argv[3], "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	for (;;) {
		if (reset_now) {
			fprintf(stderr, "relay: resetting %d connection(s)\n", n);
			for (i = 0; i < n; i++) {
				rst_close(pair[i][0]);
				rst_close(pair[i][1]);
			}
			n = 0;
			reset_now = 0;
		}
		p[0].fd = lfd;
		p[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			p[1 + 2 * i].fd = pair[i][0];
			p[2 + 2 * i].fd = pair[i][1];
			p[1 + 2 * i].events = p[2 + 2 * i].events = POLLIN;
		}
		if (poll(p, (nfds_t)(1 + 2 * n), -1) < 0)
			continue;	/* EINTR: SIGUSR1 */
		for (i = n - 1; i >= 0; i--) {
			int bad = 0;

			if (p[1 + 2 * i].revents)
				bad |= pass(pair[i][0], pair[i][1]);
			if (p[2 + 2 * i].revents)
				bad |= pass(pair[i][1], pair[i][0]);
			if (bad) {
				close(pair[i][0]);
				close(pair[i][1]);
				pair[i][0] = pair[n - 1][0];
				pair[i][1] = pair[n - 1][1];
				n--;
			}
		}
		if (p[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), t;

			if (c < 0)
				continue;
			t = n < MAX_PAIRS ? tcp(target, 0) : -1;
			if (t < 0) {
				close(c);
				continue;
			}
			pair[n][0] = c;
			pair[n][1] = t;
			n++;
		}
	}
}
