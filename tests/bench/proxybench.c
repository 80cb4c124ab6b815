// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proxybench: the host proxy benchmark's load generator (tests/bench/README.md).
 *
 * It connects and negotiates exactly as nbd-client does (cli_parse,
 * nego_connect, then datapath_open: under TLS the same forked proxy that the
 * kernel would get), and then plays the kernel's part on the plaintext end:
 * NBD_CMD_READ or NBD_CMD_WRITE with simple replies, QD requests in flight,
 * one size per cell, for SECS seconds a cell.  Without TLS the end is the TCP
 * socket itself, so "plaintext" is the same generator straight to the server.
 * -D keeps the TLS session in this process (no proxy): what TLS costs
 * without the proxy's extra hop, the floor for any process in between.
 *
 *   proxybench [-D] [-T SECS] [-c CELLS] -- NBD-CLIENT-ARGS...
 *   proxybench [-T SECS] -C CIPHER      (GnuTLS's speed with it: the ceiling)
 *
 * CELLS: "write:8:1m,read:1:4k,..." (default: read and write x QD 1, 8, 32
 * x 4k, 128k, 1m); "none" only connects, opens the data path and says bye.
 * NBD-CLIENT-ARGS: what `nbd-client --check` takes (a URI or host/port and
 * the TLS options); --ktls is honoured, so pass --ktls=off for the proxy.
 *
 * One line per cell on stdout ("cell op=... mbps=... p50_us=..."), then
 * the proxy's cost: CPU (exact, /proc/PID/schedstat) per cell, peak RSS
 * and locked memory, and how long connecting took.  Exit 1 on any error,
 * and when a reply is wrong (bad magic, unknown handle, an error code).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "cli.h"
#include "datapath.h"
#include "nego.h"
#include "optreply.h"
#include "proto.h"
#include "transmit.h"

#define MAX_QD 256
#define MAX_SIZE (4u << 20)
#define RX_CAP (2u << 20)
#define MAX_SAMPLES (1u << 20)

struct cell {
	int op;
	unsigned int qd;
	uint32_t size;
};

struct slot {
	bool busy;
	uint32_t len;
	int op;
	long long t0;	/* ns */
};

struct gen {
	int fd;
	gnutls_session_t tls;	/* -D: TLS in this process, no proxy */
	uint64_t export_size;
	uint64_t next_off;
	struct slot slot[MAX_QD];
	unsigned int inflight;
	char *rx;
	size_t rx_start, rx_end;
	char *payload;
	long long *lat;		/* ns per request */
	size_t nlat;
	unsigned long long bytes, reqs;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n) {
		w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("proxybench: write");
			return -1;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* -D: the request through GnuTLS here, as full records (corked). */
static int tls_write_all(gnutls_session_t tls, const struct iovec *iov, int n)
{
	size_t off;
	ssize_t w;
	int i;

	gnutls_record_cork(tls);
	for (i = 0; i < n; i++)
		for (off = 0; off < iov[i].iov_len; off += (size_t)w) {
			w = gnutls_record_send(tls, (char *)iov[i].iov_base + off,
					       iov[i].iov_len - off);
			if (w <= 0) {
				fprintf(stderr, "proxybench: TLS write: %s\n",
					gnutls_strerror((int)w));
				return -1;
			}
		}
	do
		w = gnutls_record_uncork(tls, GNUTLS_RECORD_WAIT);
	while (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED);
	if (w < 0) {
		fprintf(stderr, "proxybench: TLS write: %s\n",
			gnutls_strerror((int)w));
		return -1;
	}
	return 0;
}

static int send_request(struct gen *g, const struct cell *c)
{
	uint8_t h[NBD_REQUEST_LEN];
	struct iovec iov[2] = { { h, sizeof(h) }, { g->payload, c->size } };
	unsigned int k;

	for (k = 0; g->slot[k].busy; k++)
		;
	if (g->next_off + c->size > g->export_size)
		g->next_off = 0;
	put_be32(h, NBD_REQUEST_MAGIC);
	put_be16(h + 4, 0);	/* flags */
	put_be16(h + 6, (uint16_t)c->op);
	put_be64(h + 8, k);
	put_be64(h + 16, g->next_off);
	put_be32(h + 24, c->size);
	g->next_off += c->size;
	g->slot[k] = (struct slot){ true, c->size, c->op, now_ns() };
	g->inflight++;
	if (g->tls)
		return tls_write_all(g->tls, iov, c->op == NBD_CMD_WRITE ? 2 : 1);
	return write_all(g->fd, iov, c->op == NBD_CMD_WRITE ? 2 : 1);
}

/* At least one more byte in rx (compacting first when the end is near). */
static int rx_more(struct gen *g)
{
	ssize_t n;

	if (g->rx_start == g->rx_end)
		g->rx_start = g->rx_end = 0;
	if (RX_CAP - g->rx_end < 64 * 1024) {
		memmove(g->rx, g->rx + g->rx_start, g->rx_end - g->rx_start);
		g->rx_end -= g->rx_start;
		g->rx_start = 0;
	}
	if (g->tls) {
		do
			n = gnutls_record_recv(g->tls, g->rx + g->rx_end,
					       RX_CAP - g->rx_end);
		while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		if (n < 0) {
			fprintf(stderr, "proxybench: TLS read: %s\n",
				gnutls_strerror((int)n));
			return -1;
		}
	} else {
		do
			n = read(g->fd, g->rx + g->rx_end, RX_CAP - g->rx_end);
		while (n < 0 && errno == EINTR);
	}
	if (n <= 0) {
		fprintf(stderr, "proxybench: read: %s\n",
			n ? strerror(errno) : "end of file from the server");
		return -1;
	}
	g->rx_end += (size_t)n;
	return 0;
}

static int read_reply(struct gen *g)
{
	const uint8_t *h;
	uint64_t handle;
	uint32_t left;
	struct slot *s;
	size_t take;

	while (g->rx_end - g->rx_start < NBD_SIMPLE_REPLY_LEN)
		if (rx_more(g) < 0)
			return -1;
	h = (const uint8_t *)g->rx + g->rx_start;
	handle = be64_at(h + 8);
	if (be32_at(h) != NBD_SIMPLE_REPLY_MAGIC || be32_at(h + 4) ||
	    handle >= MAX_QD || !g->slot[handle].busy) {
		fprintf(stderr, "proxybench: bad reply (magic %08" PRIx32
			", error %" PRIu32 ", handle %" PRIu64 ")\n",
			be32_at(h), be32_at(h + 4), handle);
		return -1;
	}
	g->rx_start += NBD_SIMPLE_REPLY_LEN;
	s = &g->slot[handle];
	for (left = s->op == NBD_CMD_READ ? s->len : 0; left; left -= take) {
		if (g->rx_start == g->rx_end && rx_more(g) < 0)
			return -1;
		take = g->rx_end - g->rx_start;
		if (take > left)
			take = left;
		g->rx_start += take;
	}
	if (g->nlat < MAX_SAMPLES)
		g->lat[g->nlat++] = now_ns() - s->t0;
	g->bytes += s->len;
	g->reqs++;
	s->busy = false;
	g->inflight--;
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* CPU time a process has run, in ns (exact: the scheduler's own count). */
static long long cpu_ns(pid_t pid)
{
	char path[64];
	long long ns = -1;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = -1;
	fclose(f);
	return ns;
}

static int run_cell(struct gen *g, const struct cell *c, double secs,
		    pid_t proxy)
{
	long long t0, end, t1, c0, c1;
	double dt;

	g->bytes = g->reqs = 0;
	g->nlat = 0;
	c0 = cpu_ns(proxy);
	t0 = now_ns();
	end = t0 + (long long)(secs * 1e9);
	while (now_ns() < end) {
		while (g->inflight < c->qd)
			if (send_request(g, c) < 0)
				return -1;
		if (read_reply(g) < 0)
			return -1;
	}
	while (g->inflight)
		if (read_reply(g) < 0)
			return -1;
	t1 = now_ns();
	c1 = cpu_ns(proxy);
	dt = (double)(t1 - t0) / 1e9;
	qsort(g->lat, g->nlat, sizeof(*g->lat), cmp_ll);
	printf("cell op=%s qd=%u size=%" PRIu32 " bytes=%llu secs=%.3f mbps=%.1f iops=%.0f p50_us=%.1f p99_us=%.1f proxy_cpu_s=%.3f\n",
	       c->op == NBD_CMD_READ ? "read" : "write", c->qd, c->size,
	       g->bytes, dt, (double)g->bytes / dt / 1e6,
	       (double)g->reqs / dt,
	       (double)g->lat[g->nlat / 2] / 1e3,
	       (double)g->lat[g->nlat * 99 / 100] / 1e3,
	       (double)(c1 - c0) / 1e9);
	fflush(stdout);
	return 0;
}

static int parse_size(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || !v || v > MAX_SIZE)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "write:8:1m,read:1:4k"; returns how many cells, -1 on a bad list. */
static int parse_cells(char *list, struct cell *cells, int max)
{
	char *save = NULL, *fields, *tok, *op, *qd, *size;
	int n = 0;

	if (!strcmp(list, "none"))
		return 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		op = strtok_r(tok, ":", &fields);
		qd = strtok_r(NULL, ":", &fields);
		size = strtok_r(NULL, ":", &fields);
		if (n == max || !op || !qd || !size)
			return -1;
		if (!strcmp(op, "read"))
			cells[n].op = NBD_CMD_READ;
		else if (!strcmp(op, "write"))
			cells[n].op = NBD_CMD_WRITE;
		else
			return -1;
		cells[n].qd = (unsigned int)atoi(qd);
		if (!cells[n].qd || cells[n].qd > MAX_QD ||
		    parse_size(size, &cells[n].size) < 0)
			return -1;
		n++;
	}
	return n;
}

static void default_cells(struct cell *cells, int *n)
{
	static const unsigned int qds[] = { 1, 8, 32 };
	static const uint32_t sizes[] = { 4096, 128 << 10, 1 << 20 };
	int op, q, s;

	*n = 0;
	for (op = NBD_CMD_WRITE; op >= NBD_CMD_READ; op--)
		for (s = 0; s < 3; s++)
			for (q = 0; q < 3; q++)
				cells[(*n)++] = (struct cell){ op, qds[q],
							       sizes[s] };
}

/* The proxy's memory: VmHWM (peak RSS), VmRSS, VmLck, in KiB. */
static void print_memory(pid_t pid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	printf("proxy");
	while (fgets(line, sizeof(line), f)) {
		long kb;
		char key[32];

		if (sscanf(line, "%31[^:]: %ld kB", key, &kb) == 2 &&
		    (!strcmp(key, "VmHWM") || !strcmp(key, "VmRSS") ||
		     !strcmp(key, "VmLck")))
			printf(" %s_kb=%ld", key, kb);
	}
	printf("\n");
	fclose(f);
}

/* Milliseconds since $PROXYBENCH_T0 (the shell's $EPOCHREALTIME when it
 * ran us: exec, the dynamic linker and all), or -1 without it. */
static double since_exec_ms(void)
{
	const char *t0 = getenv("PROXYBENCH_T0");
	struct timespec ts;

	if (!t0 || !*t0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - atof(t0)) * 1e3;
}

/* The "ready" line: the path, how long negotiating and opening it took. */
static void print_ready(const char *path, const char *tls, long long t_main,
			long long t_nego)
{
	long long t_ready = now_ns();

	printf("ready path=\"%s\" tls=\"%s\" negotiate_ms=%.2f datapath_ms=%.2f main_to_ready_ms=%.2f exec_to_ready_ms=%.2f\n",
	       path, tls, (double)(t_nego - t_main) / 1e6,
	       (double)(t_ready - t_nego) / 1e6,
	       (double)(t_ready - t_main) / 1e6, since_exec_ms());
	fflush(stdout);
}

/* -D: the negotiated session itself is the generator's, blocking. */
static int keep_session(struct gen *g, struct nbd_session *s,
			long long t_nego, long long t_main)
{
	char desc[64];
	int fl;

	if (!s->conn.tls) {
		fprintf(stderr, "proxybench: -D needs TLS\n");
		return -1;
	}
	fl = fcntl(s->conn.fd, F_GETFL);
	if (fl < 0 || fcntl(s->conn.fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		perror("proxybench: fcntl");
		return -1;
	}
	g->fd = s->conn.fd;
	g->tls = s->conn.tls;
	snprintf(desc, sizeof(desc), "%s, %s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(g->tls)),
		 gnutls_cipher_get_name(gnutls_cipher_get(g->tls)));
	print_ready("TLS in process", desc, t_main, t_nego);
	return 0;
}

static int connect_path(struct gen *g, struct nbd_config *cfg,
			struct datapath *dp, struct nbd_session *direct,
			long long t_main)
{
	struct datapath_opts o = { .null_fd = -1,
				   .nofork_log_stderr = true,
				   .ident = "bench",
				   .swap = cfg->swap,
				   .ktls = config_ktls(&cfg->tls) };
	struct nbd_err e = { "" };
	struct nbd_session s;
	long long t_nego;
	int r = -1;

	if (o.ktls == KTLS_UNSET || o.ktls == KTLS_AUTO)
		o.ktls = KTLS_OFF;	/* the host has no kernel TLS */
	nego_init(&s, cfg);
	if (nego_connect(&s, cfg, &e) < 0)
		goto out;
	t_nego = now_ns();
	g->export_size = s.export.size;
	if (direct) {
		if (keep_session(g, &s, t_nego, t_main) < 0) {
			nego_close(&s);
			return -1;	/* said */
		}
		*direct = s;	/* the caller closes it */
		return 0;
	}
	if (datapath_open(&s.conn, &o, dp, &e) < 0)
		goto out;
	g->fd = dp->kernel_fd;
	print_ready(datapath_kind_name(dp->kind), dp->tls_desc, t_main, t_nego);
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "proxybench: %s\n", e.msg);
	nego_close(&s);
	return r;
}

/*
 * The ceiling: how fast GnuTLS encrypts with one core, 16 KiB at a time
 * (a full TLS record), with the AEAD cipher named (e.g. "AES-256-GCM"),
 * for secs seconds.  gnutls-cli --benchmark-ciphers does the same for
 * AES-128-GCM only.
 */
static int cipher_bench(const char *name, double secs)
{
	static unsigned char key[32], nonce[12], in[16384], out[16384 + 16];
	gnutls_cipher_algorithm_t alg = gnutls_cipher_get_id(name);
	gnutls_datum_t k = { key, 0 };
	gnutls_aead_cipher_hd_t h;
	unsigned long long n = 0;
	long long t0, end;
	size_t olen;

	k.size = (unsigned int)gnutls_cipher_get_key_size(alg);
	if (alg == GNUTLS_CIPHER_UNKNOWN || !k.size ||
	    gnutls_aead_cipher_init(&h, alg, &k) < 0) {
		fprintf(stderr, "proxybench: no AEAD cipher '%s'\n", name);
		return 1;
	}
	t0 = now_ns();
	end = t0 + (long long)(secs * 1e9);
	do {
		olen = sizeof(out);
		if (gnutls_aead_cipher_encrypt(h, nonce, sizeof(nonce), NULL, 0,
					       16, in, sizeof(in), out,
					       &olen) < 0)
			return 1;
		n++;
	} while ((n & 63) || now_ns() < end);
	printf("cipher name=%s record=16384 gbps=%.2f\n", name,
	       (double)n * sizeof(in) / (double)(now_ns() - t0));
	gnutls_aead_cipher_deinit(h);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: proxybench [-D] [-T SECS] [-c CELLS] -- NBD-CLIENT-ARGS...\n"
			"       proxybench [-T SECS] -C CIPHER\n");
	return 2;
}

int main(int argc, char **argv)
{
	long long t_main = now_ns();
	static struct cell cells[64];
	struct nbd_err e = { "" };
	struct gen g = { .fd = -1 };
	struct datapath dp = { .kind = DATAPATH_PLAIN, .kernel_fd = -1,
			       .watch_fd = -1, .proxy_pid = -1,
			       .report_fd = -1 };
	struct nbd_session direct;
	struct nbd_config cfg;
	struct cli cli = { 0 };
	bool in_process = false;
	const char *cipher = NULL;
	double secs = 2;
	int opt, n, i, r = 1, status = 0;
	char **cargv;

	default_cells(cells, &n);
	while ((opt = getopt(argc, argv, "DT:c:C:")) != -1) {
		if (opt == 'D')
			in_process = true;
		else if (opt == 'T')
			secs = atof(optarg);
		else if (opt == 'C')
			cipher = optarg;
		else if (opt == 'c')
			n = parse_cells(optarg, cells, 64);
		else
			return usage();
		if (n < 0 || secs <= 0)
			return usage();
	}
	if (cipher)
		return cipher_bench(cipher, secs);
	if (optind >= argc)
		return usage();
	/* argv[optind - 1] is "--": it becomes the program name */
	cargv = calloc((size_t)(argc - optind + 3), sizeof(*cargv));
	if (!cargv)
		return 1;
	cargv[0] = "nbd-client";
	cargv[1] = "--check";
	memcpy(cargv + 2, argv + optind, (size_t)(argc - optind) * sizeof(*cargv));
	config_init(&cfg);
	if (cli_parse(argc - optind + 2, cargv, &cfg, &cli, &e) < 0) {
		fprintf(stderr, "proxybench: %s\n", e.msg);
		goto out;
	}
	/* the generator's buffers only after the fork: the proxy (which
	 * locks all it maps) must not carry copies of them */
	if (connect_path(&g, &cfg, &dp, in_process ? &direct : NULL,
			 t_main) < 0)
		goto out;
	g.rx = malloc(RX_CAP);
	g.payload = malloc(MAX_SIZE);
	g.lat = malloc(MAX_SAMPLES * sizeof(*g.lat));
	if (!g.rx || !g.payload || !g.lat)
		goto out;
	for (i = 0; i < (int)MAX_SIZE; i++)
		g.payload[i] = (char)(i * 2654435761u >> 13);
	for (i = 0; i < n; i++)
		if (run_cell(&g, &cells[i], secs, dp.proxy_pid) < 0)
			goto out;
	if (dp.proxy_pid > 0)
		print_memory(dp.proxy_pid);
	r = 0;
out:
	if (g.tls) {
		if (!r)
			transmit_disc(&direct.conn);
		nego_close(&direct);
		g.fd = -1;
	}
	if (g.fd >= 0 && !r)
		transmit_disc_fd(g.fd);
	if (dp.kernel_fd >= 0 || dp.proxy_pid > 0)
		datapath_close(&dp, &status);
	if (!r && status)
		fprintf(stderr, "proxybench: the proxy exited with status %d\n",
			status);
	free(g.rx);
	free(g.payload);
	free(g.lat);
	free(cargv);
	config_free(&cfg);
	cli_free(&cli);
	return r || status ? 1 : 0;
}
