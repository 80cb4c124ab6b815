/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * randread: random reads with O_DIRECT, one at a time (queue depth 1), for
 * the VM benchmark (tests/bench/vm-bench.sh; fio is not in the guest).
 * Built on the host, installed in the guest as /usr/bin/randread.
 *
 *   randread DEV SECONDS [BLOCK [SPAN]]
 *
 * Reads BLOCK bytes (default 4096) at block-aligned offsets drawn from a
 * fixed-seed xorshift generator over the first SPAN bytes of DEV (default:
 * the whole device) until SECONDS have passed, then prints
 *
 *   ops N secs S.SSSSSS bytes B
 *
 * Exit status 1, with a message, on any error or short read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int bench(int fd, double secs, size_t bs, uint64_t span)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, nblocks = span / bs, ops = 0;
	double t0, t;
	void *buf;
	ssize_t n;

	if (nblocks == 0) {
		fprintf(stderr, "randread: span smaller than one block\n");
		return 1;
	}
	if (posix_memalign(&buf, 4096, bs)) {
		fprintf(stderr, "randread: out of memory\n");
		return 1;
	}
	t0 = now();
	do {
		n = pread(fd, buf, bs, (off_t)(xorshift(&seed) % nblocks * bs));
		if (n != (ssize_t)bs) {
			fprintf(stderr, "randread: read: %s\n",
				n < 0 ? strerror(errno) : "short read");
			free(buf);
			return 1;
		}
		ops++;
		t = now() - t0;
	} while (t < secs);
	printf("ops %llu secs %.6f bytes %llu\n", (unsigned long long)ops, t,
	       (unsigned long long)(ops * bs));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size = (uint64_t)-1, span;
	size_t bs = 4096;
	int fd, rc;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: randread DEV SECONDS [BLOCK [SPAN]]\n");
		return 2;
	}
	if (argc > 3)
		bs = strtoul(argv[3], NULL, 0);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd >= 0)
		size = (uint64_t)lseek(fd, 0, SEEK_END);
	if (fd < 0 || size == (uint64_t)-1) {
		fprintf(stderr, "randread: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	span = argc > 4 ? strtoull(argv[4], NULL, 0) : size;
	if (span > size)
		span = size;
	if (bs == 0 || bs % 512) {
		fprintf(stderr, "randread: BLOCK must be a multiple of 512\n");
		return 2;
	}
	rc = bench(fd, strtod(argv[2], NULL), bs, span);
	close(fd);
	return rc;
}
