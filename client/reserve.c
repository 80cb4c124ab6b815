// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel's memory reserves for swap over the network: see reserve.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "reserve.h"

unsigned long swap_reserve_floor_kb(unsigned long memtotal_kb,
				    unsigned int links)
{
	unsigned long want = SWAP_RESERVE_PER_LINK_KB * (links + 1UL);
	unsigned long cap = memtotal_kb / 16;

	return want < cap ? want : cap;
}

/* The file PATH, at most len - 1 bytes, NUL-terminated. */
static int slurp(const char *path, char *buf, size_t len, struct nbd_err *e)
{
	if (nbd_kfile_read(AT_FDCWD, path, buf, len) < 0)
		return err_errno(e, errno, "cannot read %s", path);
	return 0;
}

/* A decimal number of KiB at s, then blanks, " kB" or a newline. */
static int kb_at(const char *s, const char *path, unsigned long *kb,
		 struct nbd_err *e)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	errno = 0;
	*kb = strtoul(s, &end, 10);
	if (end == s || errno || (*end && !strchr(" \n", *end)))
		return err_set(e, "%s: not a number of KiB: '%.*s'", path,
			       (int)strcspn(s, "\n"), s);
	return 0;
}

static int read_memtotal(const char *proc, unsigned long *kb, struct nbd_err *e)
{
	char path[256], buf[4096];
	const char *line;

	snprintf(path, sizeof(path), "%s/meminfo", proc);
	if (slurp(path, buf, sizeof(buf), e) < 0)
		return -1;
	if (!strncmp(buf, "MemTotal:", 9))
		return kb_at(buf + 9, path, kb, e);
	line = strstr(buf, "\nMemTotal:");
	if (!line)
		return err_set(e, "%s: no MemTotal line", path);
	return kb_at(line + 10, path, kb, e);
}

static int write_kb(const char *path, unsigned long kb, struct nbd_err *e)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || nbd_kfile_write_ul(fd, kb) < 0) {
		int saved = errno;

		if (fd >= 0)
			close(fd);
		return err_errno(e, saved, "%s", path);
	}
	if (close(fd) < 0)
		return err_errno(e, errno, "%s", path);
	return 0;
}

int swap_reserve_raise(const char *proc, unsigned int links,
		       struct swap_reserve *r, struct nbd_err *e)
{
	char path[256], buf[64];
	unsigned long total, floor_kb;

	r->from_kb = r->to_kb = 0;
	if (read_memtotal(proc, &total, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sys/vm/min_free_kbytes", proc);
	if (slurp(path, buf, sizeof(buf), e) < 0 ||
	    kb_at(buf, path, &r->from_kb, e) < 0)
		return -1;
	floor_kb = swap_reserve_floor_kb(total, links);
	if (r->from_kb >= floor_kb)
		return 0;
	if (write_kb(path, floor_kb, e) < 0)
		return err_prefix(
			e,
			"cannot raise vm.min_free_kbytes from %lu to %lu KiB",
			r->from_kb, floor_kb);
	r->to_kb = floor_kb;
	return 0;
}
