/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * soak-writer: the write-and-verify load of tests/vm/60-soak.t.
 *
 *   soak-writer write DIR NFILES KIB STOPFILE
 *	rounds until STOPFILE exists: round G (1, 2, ...) rewrites
 *	DIR/f0..f<NFILES-1> (KIB KiB each: open O_TRUNC, write, fsync), then
 *	reads every file back with O_DIRECT (so from the device, not the page
 *	cache) and checks every word.  Stops at the first error, which it
 *	prints (round, file, offset, the call and errno, or the word that is
 *	wrong); exits 1 then.  At the end it prints
 *	"round G ok" after each round and, at the end,
 *	"rounds R gen G written W verified V" (bytes).
 *   soak-writer verify DIR NFILES KIB GEN
 *	checks that every file holds generation GEN, word by word.
 *
 * The content is patgen's: the 8-byte big-endian word at byte P of file I
 * is (GEN << 48) + I * KIB * 1024 + P, so a block that is stale (an older
 * generation), misplaced (another file or offset) or lost shows which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

struct soak {
	const char *dir;
	unsigned int nfiles;
	size_t size;
	unsigned char *buf;	/* CHUNK bytes, aligned for O_DIRECT */
	unsigned long long written, verified;
};

static void fill(unsigned char *b, size_t len, uint64_t base)
{
	size_t i;
	int k;

	for (i = 0; i < len; i += 8) {
		uint64_t w = base + i;

		for (k = 0; k < 8; k++)
			b[i + k] = (unsigned char)(w >> (56 - 8 * k));
	}
}

static uint64_t word_at(const unsigned char *b)
{
	uint64_t w = 0;
	int k;

	for (k = 0; k < 8; k++)
		w = w << 8 | b[k];
	return w;
}

static uint64_t base_of(const struct soak *s, unsigned int gen,
			unsigned int f, size_t off)
{
	return ((uint64_t)gen << 48) + (uint64_t)f * s->size + off;
}

static void path_of(const struct soak *s, unsigned int f, char *p, size_t n)
{
	snprintf(p, n, "%s/f%u", s->dir, f);
}

static int write_file(struct soak *s, unsigned int gen, unsigned int f)
{
	char p[4096];
	size_t off;
	int fd;

	path_of(s, f, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("round %u %s: open: %s\n", gen, p, strerror(errno));
		return -1;
	}
	for (off = 0; off < s->size; off += CHUNK) {
		size_t len = s->size - off < CHUNK ? s->size - off : CHUNK;
		ssize_t n;

		fill(s->buf, len, base_of(s, gen, f, off));
		n = pwrite(fd, s->buf, len, (off_t)off);
		if (n != (ssize_t)len) {
			printf("round %u %s: write at %zu: %s\n", gen, p, off,
			       n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		s->written += len;
	}
	if (fsync(fd) < 0) {
		printf("round %u %s: fsync: %s\n", gen, p, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		printf("round %u %s: close: %s\n", gen, p, strerror(errno));
		return -1;
	}
	return 0;
}

static int check_chunk(struct soak *s, unsigned int gen, unsigned int f,
		       size_t off, size_t len, const char *p)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t want = base_of(s, gen, f, off + i);
		uint64_t got = word_at(s->buf + i);

		if (got != want) {
			printf("gen %u %s: offset %zu (block %zu) holds 0x%016llx"
			       " (gen %llu, position %llu), wanted 0x%016llx\n",
			       gen, p, off + i, (off + i) / 4096,
			       (unsigned long long)got,
			       (unsigned long long)(got >> 48),
			       (unsigned long long)(got & 0xffffffffffffULL),
			       (unsigned long long)want);
			return -1;
		}
	}
	return 0;
}

static int verify_file(struct soak *s, unsigned int gen, unsigned int f)
{
	char p[4096];
	size_t off;
	int fd, r = -1;

	path_of(s, f, p, sizeof(p));
	fd = open(p, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		printf("gen %u %s: open: %s\n", gen, p, strerror(errno));
		return -1;
	}
	for (off = 0; off < s->size; off += CHUNK) {
		size_t len = s->size - off < CHUNK ? s->size - off : CHUNK;
		ssize_t n = pread(fd, s->buf, len, (off_t)off);

		if (n != (ssize_t)len) {
			printf("gen %u %s: read at %zu: %s\n", gen, p, off,
			       n < 0 ? strerror(errno) : "short read");
			goto out;
		}
		if (check_chunk(s, gen, f, off, len, p) < 0)
			goto out;
		s->verified += len;
	}
	r = 0;
out:
	close(fd);
	return r;
}

static int round_trip(struct soak *s, unsigned int gen)
{
	unsigned int f;

	for (f = 0; f < s->nfiles; f++)
		if (write_file(s, gen, f) < 0)
			return -1;
	for (f = 0; f < s->nfiles; f++)
		if (verify_file(s, gen, f) < 0)
			return -1;
	return 0;
}

static int do_write(struct soak *s, const char *stop)
{
	unsigned int gen = 0;
	int r = 0;

	while (access(stop, F_OK) < 0 && gen < 65535) {
		if (round_trip(s, gen + 1) < 0) {
			r = 1;
			break;
		}
		gen++;
		printf("round %u ok\n", gen);
	}
	printf("rounds %u gen %u written %llu verified %llu\n", gen, gen,
	       s->written, s->verified);
	return r;
}

static int do_verify(struct soak *s, unsigned int gen)
{
	unsigned int f;

	for (f = 0; f < s->nfiles; f++)
		if (verify_file(s, gen, f) < 0)
			return 1;
	printf("verified %llu bytes of gen %u\n", s->verified, gen);
	return 0;
}

int main(int argc, char **argv)
{
	struct soak s = { 0 };
	void *buf;
	int r;

	if (argc != 6)
		goto usage;
	s.dir = argv[2];
	s.nfiles = (unsigned int)strtoul(argv[3], NULL, 0);
	s.size = strtoul(argv[4], NULL, 0) * 1024;
	if (!s.nfiles || !s.size || posix_memalign(&buf, 4096, CHUNK))
		goto usage;
	s.buf = buf;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "write"))
		r = do_write(&s, argv[5]);
	else if (!strcmp(argv[1], "verify"))
		r = do_verify(&s, (unsigned int)strtoul(argv[5], NULL, 0));
	else
		goto usage;
	free(buf);
	return r;
usage:
	fprintf(stderr, "usage: soak-writer write DIR NFILES KIB STOPFILE\n"
			"       soak-writer verify DIR NFILES KIB GEN\n");
	return 2;
}
