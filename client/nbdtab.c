// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /etc/nbdtab parser.  See nbdtab.h for the format and for how a line is
 * merged with what the command line already set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devname.h"
#include "nbdtab.h"

/* NBD strings (export names) are at most 4096 bytes (proto.md). */
#define NBD_MAX_STRING 4096
/* seconds * HZ (at most 1000) must fit the kernel's unsigned int jiffies */
#define MAX_TIMEOUT NBD_MAX_TIMEOUT_S
#define MAX_CONNS 64

enum opt_id {
	O_BS,
	O_SIZE,
	O_TIMEOUT,
	O_DEAD_TIMEOUT,
	O_PORT,
	O_CONNS,
	O_IDENTIFIER,
	O_CERTFILE,
	O_KEYFILE,
	O_CACERTFILE,
	O_TLSHOSTNAME,
	O_PRIORITY,
	O_KTLS,
	O_PSK_FILE,
	O_PSK_USER,
	O_SANDBOX,
	O_PERSIST,
	O_SWAP,
	O_UNIX,
	O_NO_OPTGO,
	O_PREINIT,
	O_TLS,
	O_READONLY,
	O_NONETLINK,
	O_SYSTEMD_MARK,
	O_NOFORK,
	O_NOAUTO,
	O_COUNT
};

struct opt_def {
	const char *name;
	bool value;	/* key=value; otherwise a bare flag */
};

static const struct opt_def opt_defs[O_COUNT] = {
	[O_BS] = { "bs", true },
	[O_SIZE] = { "size", true },
	[O_TIMEOUT] = { "timeout", true },
	[O_DEAD_TIMEOUT] = { "dead-timeout", true },
	[O_PORT] = { "port", true },
	[O_CONNS] = { "conns", true },
	[O_IDENTIFIER] = { "identifier", true },
	[O_CERTFILE] = { "certfile", true },
	[O_KEYFILE] = { "keyfile", true },
	[O_CACERTFILE] = { "cacertfile", true },
	[O_TLSHOSTNAME] = { "tlshostname", true },
	[O_PRIORITY] = { "priority", true },
	[O_KTLS] = { "ktls", true },
	[O_PSK_FILE] = { "psk-file", true },
	[O_PSK_USER] = { "psk-user", true },
	[O_SANDBOX] = { "sandbox", true },
	[O_PERSIST] = { "persist", false },
	[O_SWAP] = { "swap", false },
	[O_UNIX] = { "unix", false },
	[O_NO_OPTGO] = { "no_optgo", false },
	[O_PREINIT] = { "preinit", false },
	[O_TLS] = { "tls", false },
	[O_READONLY] = { "readonly", false },
	[O_NONETLINK] = { "nonetlink", false },
	[O_SYSTEMD_MARK] = { "systemd-mark", false },
	[O_NOFORK] = { "nofork", false },
	/* for the systemd generator: not attached at boot; the client
	 * itself has nothing to do with it */
	[O_NOAUTO] = { "noauto", false },
};

struct tab_ctx {
	const char *origin;
	unsigned long line;
	nbdtab_warn_fn warn;
	void *opaque;
	struct nbd_err *e;
};

/* What one line gives.  c starts from config_init(): 0/NULL = not given. */
struct tab_entry {
	struct nbd_config c;
	unsigned long seen;	/* 1 << enum opt_id */
	unsigned long line;
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* "nbdN" or "/dev/nbdN": the same rule as everywhere (nbd_dev_index). */
static bool parse_dev(const char *s, int *idx)
{
	struct nbd_err ignored;

	*idx = nbd_dev_index(s, &ignored);
	return *idx >= 0;
}

/* Decimal s[0..n) into *out, 0..max; no sign, no spaces. */
static bool parse_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned int d = s[i] - '0';

		if (s[i] < '0' || s[i] > '9' || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int copy_str(struct tab_ctx *x, char **dst, const char *s, size_t n)
{
	*dst = strndup(s, n);
	if (!*dst)
		return err_set(x->e, "out of memory");
	return 0;
}

/* Apply one value option; the value is val[0..vlen), not empty. */
static int set_value(struct tab_ctx *x, struct tab_entry *t, enum opt_id id, const char *val,
		     size_t vlen)
{
	struct nbd_config *c = &t->c;
	const char *name = opt_defs[id].name;
	uint64_t v;

	switch (id) {
	case O_BS:
		/* the kernel takes powers of two from 512 to the page size */
		if (!parse_num(val, vlen, 4096, &v) || v < 512 || (v & (v - 1)))
			return err_set(x->e,
				       "%s:%lu: invalid bs=%.*s (must be 512, 1024, 2048 or 4096)",
				       x->origin, x->line, (int)vlen, val);
		c->block_size = v;
		return 0;
	case O_SIZE:
		if (!parse_num(val, vlen, INT64_MAX, &v) || !v)
			return err_set(x->e,
				       "%s:%lu: invalid size=%.*s (must be a positive number of bytes)",
				       x->origin, x->line, (int)vlen, val);
		c->size = v;
		return 0;
	case O_TIMEOUT:
	case O_DEAD_TIMEOUT:
		if (!parse_num(val, vlen, MAX_TIMEOUT, &v) || !v)
			return err_set(x->e,
				       "%s:%lu: invalid %s=%.*s (must be 1 to %u seconds)",
				       x->origin, x->line, name, (int)vlen, val, MAX_TIMEOUT);
		if (id == O_TIMEOUT)
			c->timeout = v;
		else
			c->dead_timeout = v;
		return 0;
	case O_PORT:
		if (!parse_num(val, vlen, 65535, &v) || !v)
			return err_set(x->e, "%s:%lu: invalid port=%.*s (must be 1 to 65535)",
				       x->origin, x->line, (int)vlen, val);
		if (asprintf(&c->port, "%u", (unsigned int)v) < 0) {
			c->port = NULL;
			return err_set(x->e, "out of memory");
		}
		return 0;
	case O_CONNS:
		if (!parse_num(val, vlen, MAX_CONNS, &v) || !v)
			return err_set(x->e, "%s:%lu: invalid conns=%.*s (must be 1 to %d)",
				       x->origin, x->line, (int)vlen, val, MAX_CONNS);
		c->connections = v;
		return 0;
	case O_IDENTIFIER:
		return copy_str(x, &c->identifier, val, vlen);
	case O_CERTFILE:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.cert, val, vlen);
	case O_KEYFILE:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.key, val, vlen);
	case O_CACERTFILE:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.cacert, val, vlen);
	case O_TLSHOSTNAME:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.hostname, val, vlen);
	case O_PRIORITY:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.priority, val, vlen);
	case O_KTLS:
		if (config_ktls_mode(val, vlen, &c->tls.ktls) < 0)
			return err_set(x->e, "%s:%lu: invalid ktls=%.*s (must be auto, on or off)",
				       x->origin, x->line, (int)vlen, val);
		return 0;
	case O_PSK_FILE:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.psk_file, val, vlen);
	case O_PSK_USER:
		c->tls.enabled = true;
		return copy_str(x, &c->tls.psk_user, val, vlen);
	case O_SANDBOX:
		if (vlen == 2 && !memcmp(val, "on", 2))
			return 0;
		if (vlen == 3 && !memcmp(val, "off", 3)) {
			c->no_sandbox = true;
			return 0;
		}
		return err_set(x->e, "%s:%lu: invalid sandbox=%.*s (must be on or off)",
			       x->origin, x->line, (int)vlen, val);
	default:
		return err_set(x->e, "%s:%lu: internal error: option '%s'", x->origin,
			       x->line, name);
	}
}

static void set_flag(struct tab_entry *t, enum opt_id id)
{
	struct nbd_config *c = &t->c;

	switch (id) {
	case O_PERSIST:
		c->persist = true;
		break;
	case O_SWAP:
		c->swap = true;
		break;
	case O_NO_OPTGO:
		c->no_optgo = true;
		break;
	case O_PREINIT:
		c->preinit = true;
		break;
	case O_TLS:
		c->tls.enabled = true;
		break;
	case O_READONLY:
		c->readonly = true;
		break;
	case O_NONETLINK:
		c->nonetlink = true;
		break;
	case O_SYSTEMD_MARK:
		c->systemd_mark = true;
		break;
	case O_NOFORK:
		c->nofork = true;
		break;
	default:	/* O_UNIX: only t->seen; O_NOAUTO: not ours */
		break;
	}
}

/* The comma-separated option list.  Warnings only if warn_on. */
static int parse_options(struct tab_ctx *x, struct tab_entry *t, const char *list, bool warn_on)
{
	const char *opt = list;

	for (;;) {
		size_t len = strcspn(opt, ",");
		const char *eq = memchr(opt, '=', len);
		size_t klen = eq ? (size_t)(eq - opt) : len;
		int id;

		if (!len || !klen)
			return err_set(x->e, "%s:%lu: empty option in '%s'", x->origin, x->line,
				       list);
		for (id = 0; id < O_COUNT; id++)
			if (strlen(opt_defs[id].name) == klen &&
			    !memcmp(opt_defs[id].name, opt, klen))
				break;
		if (id == O_COUNT) {
			if (opt[0] != '_' && warn_on && x->warn) {
				struct nbd_err w; /* one line, as every message */

				err_set(&w, "%s:%lu: unknown option '%.*s' ignored",
					x->origin, x->line, (int)klen, opt);
				x->warn(x->opaque, w.msg);
			}
		} else if (t->seen & (1UL << id)) {
			return err_set(x->e, "%s:%lu: option '%s' given twice", x->origin,
				       x->line, opt_defs[id].name);
		} else if (!opt_defs[id].value) {
			if (eq)
				return err_set(x->e, "%s:%lu: option '%s' takes no value",
					       x->origin, x->line, opt_defs[id].name);
			set_flag(t, id);
		} else {
			size_t vlen = len - klen - (eq ? 1 : 0);

			if (!vlen)
				return err_set(x->e, "%s:%lu: option '%s' needs a value (%s=...)",
					       x->origin, x->line, opt_defs[id].name,
					       opt_defs[id].name);
			if (set_value(x, t, id, eq + 1, vlen))
				return -1;
		}
		if (id != O_COUNT)
			t->seen |= 1UL << id;
		if (!opt[len])
			return 0;
		opt += len + 1;
	}
}

/*
 * One line, NUL-terminated and writable.  Returns 1 if it is an entry
 * (*idx set; t filled if want_all or *idx == want), 0 if blank, -1 on
 * error.
 */
static int parse_line(struct tab_ctx *x, char *line, int want, int *idx, struct tab_entry *t)
{
	char *f[5];
	const char *dev;
	int nf = 0;
	char *p = line;
	bool match;
	size_t hlen;

	while (nf < 5) {
		while (is_space(*p))
			p++;
		if (!*p || *p == '#')
			break;
		f[nf++] = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (!nf)
		return 0;

	if (!parse_dev(f[0], idx))
		return err_set(x->e, "%s:%lu: invalid device '%s' (expected nbdN or /dev/nbdN)",
			       x->origin, x->line, f[0]);
	dev = strncmp(f[0], "/dev/", 5) ? f[0] : f[0] + 5;
	if (nf < 2)
		return err_set(x->e, "%s:%lu: missing host or socket path for %s", x->origin,
			       x->line, dev);
	if (nf < 3)
		return err_set(x->e, "%s:%lu: missing export name for %s", x->origin, x->line,
			       dev);
	if (nf > 4)
		return err_set(x->e,
			       "%s:%lu: too many fields for %s (options must be one comma-separated list without spaces)",
			       x->origin, x->line, dev);
	if (strlen(f[2]) > NBD_MAX_STRING)
		return err_set(x->e, "%s:%lu: export name for %s is longer than %d bytes",
			       x->origin, x->line, dev, NBD_MAX_STRING);

	match = *idx == want;
	config_init(&t->c);
	t->seen = 0;
	t->line = x->line;
	if (nf == 4 && parse_options(x, t, f[3], match))
		goto fail;
	if ((t->seen & (1UL << O_UNIX)) && (t->seen & (1UL << O_PORT))) {
		err_set(x->e, "%s:%lu: port= cannot be used with unix (the second field is a socket path)",
			x->origin, x->line);
		goto fail;
	}
	if (t->c.size) {
		uint32_t bs = t->c.block_size ? t->c.block_size : 512;

		if (t->c.size % bs) {
			err_set(x->e, "%s:%lu: size=%llu is not a multiple of the block size %u",
				x->origin, x->line, (unsigned long long)t->c.size, bs);
			goto fail;
		}
	}

	if (t->seen & (1UL << O_UNIX)) {
		if (copy_str(x, &t->c.unix_path, f[1], strlen(f[1])))
			goto fail;
	} else {
		hlen = strlen(f[1]);
		if (hlen > 2 && f[1][0] == '[' && f[1][hlen - 1] == ']') {
			if (copy_str(x, &t->c.host, f[1] + 1, hlen - 2))
				goto fail;
		} else if (copy_str(x, &t->c.host, f[1], hlen)) {
			goto fail;
		}
	}
	if (copy_str(x, &t->c.export_name, f[2], strlen(f[2])))
		goto fail;
	return 1;
fail:
	config_free(&t->c);
	return -1;
}

/* If *dst is unset, move *src there. */
static void fill(char **dst, char **src)
{
	if (!*dst) {
		*dst = *src;
		*src = NULL;
	}
}

/* The command line (what c already holds) wins; see nbdtab.h. */
static void merge(struct nbd_config *c, struct nbd_config *t)
{
	if (!c->host && !c->unix_path) {
		fill(&c->host, &t->host);
		fill(&c->unix_path, &t->unix_path);
		fill(&c->port, &t->port);
	}
	fill(&c->export_name, &t->export_name);
	fill(&c->identifier, &t->identifier);
	if (!c->block_size)
		c->block_size = t->block_size;
	if (!c->size)
		c->size = t->size;
	if (!c->timeout)
		c->timeout = t->timeout;
	if (!c->dead_timeout)
		c->dead_timeout = t->dead_timeout;
	if (c->connections <= 1 && t->connections > 1)
		c->connections = t->connections;

	c->persist |= t->persist;
	c->swap |= t->swap;
	c->nofork |= t->nofork;
	c->systemd_mark |= t->systemd_mark;
	c->nonetlink |= t->nonetlink;
	c->readonly |= t->readonly;
	c->preinit |= t->preinit;
	c->no_optgo |= t->no_optgo;
	c->no_sandbox |= t->no_sandbox;

	c->tls.enabled |= t->tls.enabled;
	fill(&c->tls.cacert, &t->tls.cacert);
	fill(&c->tls.cert, &t->tls.cert);
	fill(&c->tls.key, &t->tls.key);
	fill(&c->tls.hostname, &t->tls.hostname);
	fill(&c->tls.priority, &t->tls.priority);
	fill(&c->tls.psk_file, &t->tls.psk_file);
	fill(&c->tls.psk_user, &t->tls.psk_user);
	if (c->tls.ktls == KTLS_UNSET)
		c->tls.ktls = t->tls.ktls;
}

int nbdtab_parse(const char *text, size_t len, const char *origin, const char *dev,
		 struct nbd_config *c, nbdtab_warn_fn warn, void *opaque, struct nbd_err *e)
{
	struct tab_ctx x = { .origin = origin ? origin : "nbdtab", .warn = warn,
			     .opaque = opaque, .e = e };
	struct tab_entry found = { 0 }, t;
	bool have = false;
	char *buf, *line, *nl, *device;
	const char *nul, *q;
	int want, idx, r;

	if (!dev || !parse_dev(dev, &want))
		return err_set(e, "invalid device '%s' (expected nbdN or /dev/nbdN)",
			       dev ? dev : "");
	nul = memchr(text, '\0', len);
	if (nul) {
		x.line = 1;
		for (q = text; (q = memchr(q, '\n', nul - q)); q++)
			x.line++;
		return err_set(e, "%s:%lu: contains a NUL byte (not a text file?)", x.origin,
			       x.line);
	}
	buf = malloc(len + 1);
	if (!buf)
		return err_set(e, "out of memory");
	memcpy(buf, text, len);
	buf[len] = '\0';

	for (line = buf; line < buf + len; line = nl) {
		x.line++;
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		else
			nl = buf + len;
		r = parse_line(&x, line, want, &idx, &t);
		if (r < 0)
			goto fail;
		if (!r)
			continue;
		if (idx != want) {
			config_free(&t.c);
			continue;
		}
		if (have) {
			config_free(&t.c);
			err_set(e, "%s:%lu: duplicate entry for nbd%d (first on line %lu)",
				x.origin, x.line, want, found.line);
			goto fail;
		}
		found = t;
		have = true;
	}
	free(buf);
	if (!have) {
		err_set(e, "no entry for nbd%d in %s", want, x.origin);
		return 0;
	}
	if (asprintf(&device, "/dev/nbd%d", want) < 0) {
		config_free(&found.c);
		return err_set(e, "out of memory");
	}
	free(c->device);
	c->device = device;
	merge(c, &found.c);
	config_free(&found.c);
	return 1;
fail:
	if (have)
		config_free(&found.c);
	free(buf);
	return -1;
}

int nbdtab_lookup(const char *path, const char *dev, struct nbd_config *c,
		  nbdtab_warn_fn warn, void *opaque, struct nbd_err *e)
{
	size_t len = 0;
	ssize_t n;
	char *buf;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "cannot read %s", path);
	buf = malloc(NBDTAB_MAX_SIZE + 1);
	if (!buf) {
		close(fd);
		return err_set(e, "out of memory");
	}
	for (;;) {
		n = read(fd, buf + len, NBDTAB_MAX_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_errno(e, errno, "cannot read %s", path);
			goto out;
		}
		if (!n)
			break;
		len += n;
		if (len > NBDTAB_MAX_SIZE) {
			r = err_set(e, "cannot read %s: file is larger than 1 MiB", path);
			goto out;
		}
	}
	r = nbdtab_parse(buf, len, path, dev, c, warn, opaque, e);
out:
	free(buf);
	close(fd);
	return r;
}

void nbdtab_warn_stderr(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "nbd-client: warning: %s\n", msg);
}

int nbdtab_load(const char *path, struct nbd_config *c, struct nbd_err *e)
{
	char *dev = strdup(c->device);
	int r;

	if (!path)
		path = SYSCONFDIR "/nbdtab";
	if (!dev)
		return err_set(e, "out of memory");
	r = nbdtab_lookup(path, dev, c, nbdtab_warn_stderr, NULL, e);
	if (r == 0)
		err_set(e, "%s has no entry for %s", path, dev);
	free(dev);
	return r == 1 ? 0 : -1;
}
