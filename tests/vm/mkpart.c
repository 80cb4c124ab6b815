/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mkpart: write a one-partition MBR or GPT into an existing disk image, for
 * a given logical sector size.  Built by tests/vm/15-differential.t and
 * installed in the guest as /usr/bin/mkpart (the host and the guest have no
 * sfdisk; busybox fdisk cannot write a GPT).
 *
 *   mkpart IMAGE mbr|gpt SECTOR_SIZE START COUNT
 *
 * START and COUNT are in sectors of SECTOR_SIZE bytes, as a partitioning
 * tool run on a disk with that sector size would write them.  The image
 * keeps its size (it must hold the tables: for a GPT, the backup header
 * and entries at its end).  Partition type: Linux (MBR 0x83; GPT "Linux
 * filesystem data").  The GUIDs are fixed, so the image is reproducible.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_HEADER_SIZE 92

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static void le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void le64(unsigned char *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static void die(const char *what)
{
	fprintf(stderr, "mkpart: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put(int fd, const void *buf, size_t len, uint64_t off)
{
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("pwrite");
}

/* One MBR partition entry (at index 0) of type `type`. */
static void mbr(unsigned char *s, unsigned char type, uint64_t start,
		uint64_t count)
{
	unsigned char *p = s + 446;

	memset(p, 0, 64);
	p[1] = 0xfe; /* CHS "too big": LBA only */
	p[2] = 0xff;
	p[3] = 0xff;
	p[4] = type;
	p[5] = 0xfe;
	p[6] = 0xff;
	p[7] = 0xff;
	le32(p + 8, (uint32_t)start);
	le32(p + 12, (uint32_t)count);
	s[510] = 0x55;
	s[511] = 0xaa;
}

static void gpt_header(unsigned char *h, uint64_t my_lba, uint64_t alt_lba,
		       uint64_t first, uint64_t last, uint64_t entries_lba,
		       uint32_t entries_crc)
{
	/* disk GUID 8e0d5c3a-1d2b-4c55-9a17-6b1f00c0ffee, mixed endian */
	static const unsigned char disk_guid[16] = {
		0x3a, 0x5c, 0x0d, 0x8e, 0x2b, 0x1d, 0x55, 0x4c,
		0x9a, 0x17, 0x6b, 0x1f, 0x00, 0xc0, 0xff, 0xee,
	};

	memset(h, 0, GPT_HEADER_SIZE);
	memcpy(h, "EFI PART", 8);
	le32(h + 8, 0x00010000);
	le32(h + 12, GPT_HEADER_SIZE);
	le64(h + 24, my_lba);
	le64(h + 32, alt_lba);
	le64(h + 40, first);
	le64(h + 48, last);
	memcpy(h + 56, disk_guid, 16);
	le64(h + 72, entries_lba);
	le32(h + 80, GPT_ENTRIES);
	le32(h + 84, GPT_ENTRY_SIZE);
	le32(h + 88, entries_crc);
	le32(h + 16, crc32(h, GPT_HEADER_SIZE));
}

int main(int argc, char **argv)
{
	/* 0FC63DAF-8483-4772-8E79-3D69D8477DE4 (Linux filesystem data) */
	static const unsigned char linux_fs[16] = {
		0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
		0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4,
	};
	static const unsigned char part_guid[16] = {
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x48,
		0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
	};
	unsigned char entries[GPT_ENTRIES * GPT_ENTRY_SIZE];
	unsigned char *s, *h;
	uint64_t ss, start, count, total, esec, first, last;
	uint32_t ecrc;
	struct stat st;
	int fd, gpt;

	if (argc != 6 || (strcmp(argv[2], "mbr") && strcmp(argv[2], "gpt")))
		goto usage;
	gpt = !strcmp(argv[2], "gpt");
	ss = strtoull(argv[3], NULL, 0);
	start = strtoull(argv[4], NULL, 0);
	count = strtoull(argv[5], NULL, 0);
	if (ss < 512 || (ss & (ss - 1)) || !count)
		goto usage;
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(argv[1]);
	total = (uint64_t)st.st_size / ss;
	esec = sizeof(entries) / ss;
	first = gpt ? 2 + esec : 1;
	last = gpt ? total - 2 - esec : total - 1;
	if (total < 4 + 2 * esec || start < first || start + count - 1 > last ||
	    start + count > 0xffffffffu) {
		fprintf(stderr, "mkpart: %llu sectors at %llu do not fit in %llu sectors of %llu bytes\n",
			(unsigned long long)count, (unsigned long long)start,
			(unsigned long long)total, (unsigned long long)ss);
		return 1;
	}
	s = calloc(1, ss);
	h = calloc(1, ss);
	if (!s || !h)
		die("calloc");
	if (!gpt) {
		mbr(s, 0x83, start, count);
		put(fd, s, ss, 0);
		return close(fd) < 0;
	}
	/* protective MBR, then primary header + entries, backup at the end */
	mbr(s, 0xee, 1, total - 1 > 0xffffffffu ? 0xffffffffu : total - 1);
	put(fd, s, ss, 0);
	memset(entries, 0, sizeof(entries));
	memcpy(entries, linux_fs, 16);
	memcpy(entries + 16, part_guid, 16);
	le64(entries + 32, start);
	le64(entries + 40, start + count - 1);
	ecrc = crc32(entries, sizeof(entries));
	gpt_header(h, 1, total - 1, first, last, 2, ecrc);
	put(fd, h, ss, ss);
	put(fd, entries, sizeof(entries), 2 * ss);
	put(fd, entries, sizeof(entries), (total - 1 - esec) * ss);
	gpt_header(h, total - 1, 1, first, last, total - 1 - esec, ecrc);
	put(fd, h, ss, (total - 1) * ss);
	return close(fd) < 0;
usage:
	fprintf(stderr, "usage: mkpart IMAGE mbr|gpt SECTOR_SIZE START COUNT\n");
	return 2;
}
