// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD_STATE_DIR/nbdN: line 1 "pid N", then one line per connection:
 * "link PATH|TLS" (TLS empty for plaintext).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "report.h"
#include "state.h"

int state_dir_open(void)
{
	if (mkdir(NBD_STATE_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	return open(NBD_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int state_write(int dirfd, const char *name, pid_t pid,
		const struct state_link *l, unsigned int n)
{
	char tmp[64];
	unsigned int i;
	FILE *f;
	int fd, r;

	if (dirfd < 0)
		return 0;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "pid %d\n", (int)pid);
	for (i = 0; i < n; i++)
		fprintf(f, "link %s|%s\n", l[i].path, l[i].tls);
	r = fclose(f);
	if (r == 0)
		r = renameat(dirfd, tmp, dirfd, name);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

struct links {
	char path[NBD_STATE_MAX_LINKS][24];
	char tls[NBD_STATE_MAX_LINKS][64];
	unsigned int n;
};

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static int parse_link(char *s, struct links *x)
{
	char *bar = strchr(s, '|');

	if (!bar || x->n >= NBD_STATE_MAX_LINKS)
		return -1;
	*bar = 0;
	copy(x->path[x->n], sizeof(x->path[0]), s);
	copy(x->tls[x->n], sizeof(x->tls[0]), bar + 1);
	x->n++;
	return 0;
}

/* The links of device index, if its file is current. */
static int read_links(int index, struct links *x)
{
	char file[64], line[160], pid[32];
	long want = -1;
	FILE *f;

	x->n = 0;
	if (nbd_sysfs_attr(index, "pid", pid, sizeof(pid)) <= 0)
		return -1;
	snprintf(file, sizeof(file), NBD_STATE_DIR "/nbd%d", index);
	f = fopen(file, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "pid ", 4))
			want = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "link ", 5) && parse_link(line + 5, x) < 0)
			break;
	}
	fclose(f);
	return want == strtol(pid, NULL, 10) && x->n ? 0 : -1;
}

static void one(const struct links *x, unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", x->path[i], x->tls[i][0] ? ", " : "",
		 x->tls[i]);
}

static void describe_text(const struct links *x, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;
	char s[96];

	for (i = 1; i < x->n; i++)
		if (strcmp(x->path[i], x->path[0]) || strcmp(x->tls[i], x->tls[0]))
			break;
	if (i == x->n) {
		one(x, 0, buf, len);
		return;
	}
	buf[0] = 0;
	for (i = 0; i < x->n && used < len; i++) {
		one(x, i, s, sizeof(s));
		used += (size_t)snprintf(buf + used, len - used, "%sconnection %u: %s",
					 i ? "; " : "", i + 1, s);
	}
}

static void describe_json(const struct links *x, char *buf, size_t len)
{
	char *p = NULL;
	size_t n = 0;
	unsigned int i;
	FILE *f = open_memstream(&p, &n);

	if (!f)
		return;
	fputc('[', f);
	for (i = 0; i < x->n; i++) {
		fprintf(f, "%s{\"path\": ", i ? ", " : "");
		report_json_string(f, x->path[i]);
		fputs(", \"tls\": ", f);
		if (x->tls[i][0])
			report_json_string(f, x->tls[i]);
		else
			fputs("null", f);
		fputc('}', f);
	}
	fputc(']', f);
	if (fclose(f) == 0 && n < len)
		memcpy(buf, p, n + 1);
	free(p);
}

void state_describe(int index, int json, char *buf, size_t len)
{
	struct links x;

	buf[0] = 0;
	if (read_links(index, &x) < 0)
		return;
	if (json)
		describe_json(&x, buf, len);
	else
		describe_text(&x, buf, len);
}
