// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcprelay PORT: relay standard input and output (a guestfwd's "cmd:"
 * socket, one process per guest connection) to 127.0.0.1:PORT, with
 * TCP_NODELAY and 64 KiB reads.
 *
 * The swap test's servers run on the host, behind QEMU's user network.
 * busybox nc relayed them before, in 1 KiB writes on a socket with
 * Nagle's algorithm on: every request that had no other in flight waited
 * 40 ms for the server's delayed ACK (a packet capture of the guest's
 * network: an 8 KiB write answered 42 ms after its last byte; a 4 KiB
 * read's reply cut after its first 1 KiB for 41 ms), a round trip no
 * network under a swapping machine has.  The client sets TCP_NODELAY on
 * its own sockets; so does this relay.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Copy what one read of from gives to to; 0 at end of file, -1 on error. */
static int pass(int from, int to)
{
	static char buf[65536];
	ssize_t n, off = 0;

	n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && errno == EINTR ? 1 : (int)n;
	while (off < n) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct pollfd p[2];
	int fd, one = 1, open_in = 1, open_out = 1;

	if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
		fprintf(stderr, "usage: tcprelay PORT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		perror("tcprelay: 127.0.0.1");
		return 1;
	}
	while (open_in || open_out) {
		int r;

		p[0] = (struct pollfd){.fd = open_in ? 0 : -1,
				       .events = POLLIN};
		p[1] = (struct pollfd){.fd = open_out ? fd : -1,
				       .events = POLLIN};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents) {
			r = pass(0, fd);
			if (r < 0)
				return 1;
			if (r == 0) {
				open_in = 0;
				shutdown(fd, SHUT_WR);
			}
		}
		if (p[1].revents) {
			r = pass(fd, 1);
			if (r < 0)
				return 1;
			if (r == 0) {
				open_out = 0;
				shutdown(1, SHUT_WR);
			}
		}
	}
	return 0;
}
