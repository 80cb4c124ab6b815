// SPDX-License-Identifier: GPL-2.0-or-later
/* NBD_STATE_DIR/nbdN: see state.h. */
#include <errno.h>
#include <stdbool.h>
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

static void write_device(FILE *f, const struct state_device *s)
{
	const struct nbd_export *x = &s->first;
	const struct attach_params *p = &s->p;

	fprintf(f, "pid %d\n", (int)s->pid);
	fprintf(f, "monitor %d %llu\n", (int)s->monitor, s->monitor_start);
	fprintf(f, "export %llu %u %d %u %u %u\n",
		(unsigned long long)x->size, x->tflags, x->have_block_size,
		x->min_block, x->pref_block, x->max_block);
	fprintf(f, "device %llu %u %u %u\n", (unsigned long long)p->size,
		p->block_size, p->flags, p->max_request);
	fprintf(f, "dead %u\n", s->dead);
}

int state_write(int dirfd, const char *name, const struct state_device *s,
		const struct state_link *l, unsigned int n)
{
	char tmp[64];
	unsigned int i;
	FILE *f;
	int fd, r;

	if (dirfd < 0)
		return 0;
	/* the writer's own: an adopter and its child may both write */
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	write_device(f, s);
	for (i = 0; i < n; i++)
		fprintf(f, "link %s|%s\n", l[i].path, l[i].tls);
	r = fclose(f);
	if (r == 0)
		r = renameat(dirfd, tmp, dirfd, name);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static int parse_link(char *s, struct state_links *x)
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

static int parse_export(const char *s, struct nbd_export *x)
{
	unsigned long long size;
	unsigned int tflags;
	int have;

	if (sscanf(s, "%llu %u %d %u %u %u", &size, &tflags, &have,
		   &x->min_block, &x->pref_block, &x->max_block) != 6)
		return -1;
	x->size = size;
	x->tflags = (uint16_t)tflags;
	x->have_block_size = have;
	return 0;
}

static int parse_params(const char *s, struct attach_params *p)
{
	unsigned long long size;
	unsigned int flags;

	if (sscanf(s, "%llu %u %u %u", &size, &p->block_size, &flags,
		   &p->max_request) != 4)
		return -1;
	p->size = size;
	p->flags = (uint16_t)flags;
	return 0;
}

/* One line into s or x; -1: malformed. */
static int parse_line(char *line, struct state_device *s, struct state_links *x,
		      bool *pid)
{
	int v, m;

	if (sscanf(line, "pid %d", &v) == 1) {
		s->pid = v;
		*pid = true;
		return 0;
	}
	if (sscanf(line, "monitor %d %llu", &m, &s->monitor_start) == 2) {
		s->monitor = m;
		return 0;
	}
	if (!strncmp(line, "export ", 7))
		return parse_export(line + 7, &s->first);
	if (!strncmp(line, "device ", 7))
		return parse_params(line + 7, &s->p);
	if (sscanf(line, "dead %u", &s->dead) == 1)
		return 0;
	if (!strncmp(line, "link ", 5))
		return parse_link(line + 5, x);
	return 0;	/* a line of a later version */
}

int state_read(int dirfd, const char *name, struct state_device *s,
	       struct state_links *x)
{
	char line[160];
	bool pid = false;
	int fd, r = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	x->n = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		r = parse_line(line, s, x, &pid);
	}
	fclose(f);
	if (r < 0 || !pid) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The links of device index, if its file is current. */
static int read_links(int index, struct state_links *x)
{
	struct state_device s;
	char file[64], pid[32];

	x->n = 0;
	if (nbd_sysfs_attr(index, "pid", pid, sizeof(pid)) <= 0)
		return -1;
	snprintf(file, sizeof(file), NBD_STATE_DIR "/nbd%d", index);
	if (state_read(AT_FDCWD, file, &s, x) < 0)
		return -1;
	return s.pid == strtol(pid, NULL, 10) && x->n ? 0 : -1;
}

static void one(const struct state_links *x, unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", x->path[i], x->tls[i][0] ? ", " : "",
		 x->tls[i]);
}

static void describe_text(const struct state_links *x, char *buf, size_t len)
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

static void describe_json(const struct state_links *x, char *buf, size_t len)
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
	struct state_links x;

	buf[0] = 0;
	if (read_links(index, &x) < 0)
		return;
	if (json)
		describe_json(&x, buf, len);
	else
		describe_text(&x, buf, len);
}
