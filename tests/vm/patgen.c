/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * patgen: write a deterministic, non-repeating test pattern to stdout.
 * Built by tests/vm/mkinitramfs.sh and installed in the guest as
 * /usr/bin/patgen (busybox has no fast way to make such data).
 *
 *   patgen [-s SEED] [-o OFFSET] LENGTH
 *
 * The pattern is a stream of 8-byte big-endian words: the word at absolute
 * byte position P (a multiple of 8) holds P + (SEED << 48).  With SEED 0 it
 * is the same as `nbdkit pattern`.  Output starts at absolute position
 * OFFSET (any alignment), so `patgen -o 4096 512` is bytes 4096..4607 of
 * `patgen 1M`.  LENGTH and OFFSET take K/M/G suffixes (powers of 1024).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		goto bad;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "patgen: bad size '%s'\n", s);
	exit(2);
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	uint64_t seed = 0, off = 0, len, pos, end;
	int c;

	while ((c = getopt(argc, argv, "s:o:")) != -1) {
		switch (c) {
		case 's': seed = parse_size(optarg); break;
		case 'o': off = parse_size(optarg); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	len = parse_size(argv[optind]);
	end = off + len;
	/* Generate whole aligned buffers, write the part that is wanted. */
	for (pos = off & ~(uint64_t)(sizeof(buf) - 1); pos < end; pos += sizeof(buf)) {
		size_t i, from = 0, to = sizeof(buf);

		for (i = 0; i < sizeof(buf); i += 8) {
			uint64_t w = pos + i + (seed << 48);
			int b;

			for (b = 0; b < 8; b++)
				buf[i + b] = (unsigned char)(w >> (56 - 8 * b));
		}
		if (pos < off)
			from = off - pos;
		if (end - pos < to)
			to = end - pos;
		while (from < to) {
			ssize_t n = write(1, buf + from, to - from);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EPIPE)
					perror("patgen: write");
				return 1;
			}
			from += (size_t)n;
		}
	}
	return 0;
usage:
	fprintf(stderr, "usage: patgen [-s SEED] [-o OFFSET] LENGTH\n");
	return 2;
}
