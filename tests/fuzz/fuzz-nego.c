// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The whole negotiation (client/nego.c) against a server that is fuzz
 * input.  A thread plays the server on a Unix socket: it accepts, writes
 * the input (after the first byte), shuts its side down and reads whatever
 * the client sends until the client closes.  The client runs the real
 * nego_connect or nego_list_exports, TLS off, with a short deadline.  On
 * success the negotiated export goes through attach_params (the -b/-B
 * options) and report_check (text and JSON), whose output must be clean.
 *
 * The first byte picks the variant:
 *   bits 0-1  0 NBD_OPT_GO, 1 -no-optgo (NBD_OPT_EXPORT_NAME), 2 -list,
 *             3 NBD_OPT_GO
 *   bits 2-3  export name: "", "disk", "x", 4096 bytes of 'e'
 *   bits 4-5  -block-size: none, 512, 1024, 4096
 *   bit  6    -size 1048576
 *   bit  7    -readonly
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "params.h"
#include "fuzz.h"
#include "nego.h"
#include "proto.h"
#include "report.h"

/* Never wait longer than this for the fake server (it never stalls: it
 * writes everything and then closes its side). */
#define FUZZ_NEGO_TIMEOUT_MS 2000

static int listen_fd = -1;
static char sock_path[108];

struct server {
	const uint8_t *data;
	size_t len;
};

static void *serve(void *arg)
{
	struct server *sv = arg;
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	char sink[4096];
	size_t off = 0;
	int fd;

	/* the client always connects; if it never does, say so */
	fuzz_assert(poll(&p, 1, 10000) == 1, "the client never connected");
	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		abort();
	while (off < sv->len) {
		ssize_t r = send(fd, sv->data + off, sv->len - off,
				 MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* the client gave up and closed */
		off += (size_t)r;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
	return NULL;
}

static void cleanup(void)
{
	unlink(sock_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	(void)argc;
	(void)argv;
	snprintf(sock_path, sizeof(sock_path), "/tmp/nbdc-fuzz-nego-%d.sock",
		 (int)getpid());
	unlink(sock_path);
	strcpy(sun.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(listen_fd, 4) < 0) {
		perror("fuzz-nego: listening socket");
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

static int list_one(void *opaque, const char *name, const char *desc)
{
	fuzz_assert(name && desc, "NULL export name or description");
	fuzz_check_text(name, 0, "listed name");
	fuzz_check_text(desc, 0, "listed description");
	++*(int *)opaque;
	return 0;
}

static void check_report(const struct nbd_session *s,
			 const struct attach_params *p, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	report_check(f, s, p, json);
	fclose(f);
	fuzz_assert(strlen(buf) == len, "NUL in the report");
	fuzz_check_text(buf, 1, json ? "report (json)" : "report");
	free(buf);
}

/* 0 with *p filled, or -1 (the export would be refused). */
static int check_attach(const struct nbd_config *cfg,
			const struct nbd_session *s, struct attach_params *p)
{
	struct nbd_err e = { "" };

	fuzz_assert(s->in_transmission, "negotiated but not in transmission");
	fuzz_assert(s->export.have_export, "negotiated without a size");
	fuzz_assert(s->export.size <= INT64_MAX, "size %llu",
		    (unsigned long long)s->export.size);
	fuzz_assert(s->export.name, "no export name");
	if (attach_params(cfg, &s->export, p, &e) < 0) {
		fuzz_check_err(&e, "attach_params");
		return -1;
	}
	fuzz_assert(p->block_size >= 512 && p->block_size <= 4096 &&
			    !(p->block_size & (p->block_size - 1)),
		    "block size %u for the kernel", p->block_size);
	fuzz_assert(p->size % p->block_size == 0, "size %llu, block size %u",
		    (unsigned long long)p->size, p->block_size);
	fuzz_assert(p->size <= INT64_MAX, "size for the kernel");
	fuzz_assert(!p->max_request ||
			    (p->max_request >= 4096 && !(p->max_request % 1024)),
		    "request limit %u for the kernel", p->max_request);
	return 0;
}

static void configure(struct nbd_config *cfg, uint8_t v)
{
	static const uint32_t bs[4] = { 0, 512, 1024, 4096 };
	static char long_name[NBD_MAX_STRING + 1];

	config_init(cfg);
	cfg->unix_path = strdup(sock_path);
	switch ((v >> 2) & 3) {
	case 1: cfg->export_name = strdup("disk"); break;
	case 2: cfg->export_name = strdup("x"); break;
	case 3:
		memset(long_name, 'e', NBD_MAX_STRING);
		cfg->export_name = strdup(long_name);
		break;
	default: break;
	}
	cfg->no_optgo = (v & 3) == 1;
	cfg->block_size = bs[(v >> 4) & 3];
	cfg->size = v & 0x40 ? 1048576 : 0;
	cfg->readonly = v & 0x80;
	if (!cfg->unix_path)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server sv = { data + 1, size ? size - 1 : 0 };
	struct nbd_config cfg;
	struct nbd_session s;
	struct nbd_err e = { "" };
	pthread_t th;
	int r, listed = 0;
	uint8_t v = size ? data[0] : 0;

	configure(&cfg, v);
	if (pthread_create(&th, NULL, serve, &sv))
		abort();
	nego_init(&s, &cfg);
	s.conn.timeout_ms = FUZZ_NEGO_TIMEOUT_MS;
	if ((v & 3) == 2)
		r = nego_list_exports(&s, &cfg, list_one, &listed, &e);
	else
		r = nego_connect(&s, &cfg, &e);
	if (r < 0) {
		fuzz_assert(r == -1, "returned %d", r);
		fuzz_check_err(&e, "negotiation");
	} else {
		fuzz_assert(r == 0, "returned %d", r);
		if ((v & 3) != 2) {
			struct attach_params p;
			int ok = check_attach(&cfg, &s, &p) == 0;

			check_report(&s, ok ? &p : NULL, 0);
			check_report(&s, ok ? &p : NULL, 1);
		}
	}
	nego_close(&s);
	pthread_join(th, NULL);
	config_free(&cfg);
	return 0;
}
