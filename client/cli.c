// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Parsed with getopt_long_only, like the reference, so "-persist" and
 * "--persist" both work.  Positional arguments follow the reference:
 * host [port] [device], where a second argument that is not a port is the
 * device; a lone "nbdX" means "look it up in nbdtab".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "devname.h"
#include "uri.h"

enum {
	OPT_PSK_FILE = 0x100,
	OPT_PSK_USER,
	OPT_JSON,
	OPT_LIST_DEVICES,
	OPT_NBDTAB,
	OPT_KTLS,
	OPT_STATUS,
	OPT_ADOPT,
	OPT_SANDBOX,
};

static const char short_opts[] = "A:b:B:c:C:d:F:ghH:i:K:lLmnN:pPRst:T:uVxy:";

static const struct option long_opts[] = {
	{ "adopt", required_argument, NULL, OPT_ADOPT },
	{ "block-size", required_argument, NULL, 'b' },
	{ "cacertfile", required_argument, NULL, 'A' },
	{ "certfile", required_argument, NULL, 'F' },
	{ "check", required_argument, NULL, 'c' },
	{ "connections", required_argument, NULL, 'C' },
	{ "dead-timeout", required_argument, NULL, 'T' },
	{ "disconnect", required_argument, NULL, 'd' },
	{ "enable-tls", no_argument, NULL, 'x' },
	{ "help", no_argument, NULL, 'h' },
	{ "identifier", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "keyfile", required_argument, NULL, 'K' },
	{ "ktls", required_argument, NULL, OPT_KTLS },
	{ "list", no_argument, NULL, 'l' },
	{ "list-devices", no_argument, NULL, OPT_LIST_DEVICES },
	{ "name", required_argument, NULL, 'N' },
	{ "nbdtab", required_argument, NULL, OPT_NBDTAB },
	{ "no-optgo", no_argument, NULL, 'g' },
	{ "nofork", no_argument, NULL, 'n' },
	{ "nonetlink", no_argument, NULL, 'L' },
	{ "persist", no_argument, NULL, 'p' },
	{ "preinit", no_argument, NULL, 'P' },
	{ "priority", required_argument, NULL, 'y' },
	{ "psk-file", required_argument, NULL, OPT_PSK_FILE },
	{ "psk-user", required_argument, NULL, OPT_PSK_USER },
	{ "readonly", no_argument, NULL, 'R' },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "size", required_argument, NULL, 'B' },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "swap", no_argument, NULL, 's' },
	{ "systemd-mark", no_argument, NULL, 'm' },
	{ "timeout", required_argument, NULL, 't' },
	{ "tlshostname", required_argument, NULL, 'H' },
	{ "unix", no_argument, NULL, 'u' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void cli_usage(FILE *f)
{
	fputs("Usage: nbd-client [options] host [port] [nbd_device]\n"
	      "       nbd-client [options] nbd://host[:port]/export [nbd_device]\n"
	      "       nbd-client [options] -u /path/to/socket nbd_device\n"
	      "       nbd-client nbdX                (options from /etc/nbdtab)\n"
	      "       nbd-client -d nbd_device       disconnect\n"
	      "       nbd-client -c nbd_device       is it connected? (exit 0 yes, 1 no)\n"
	      "       nbd-client --status nbd_device its server and connections\n"
	      "       nbd-client -l host [port]      list exports\n"
	      "       nbd-client --check host|URI    negotiate, report, disconnect\n"
	      "       nbd-client --list-devices      show nbd devices\n"
	      "       nbd-client --adopt nbd_device  take over a device another process attached\n"
	      "Options (one or two dashes):\n"
	      "  -d, -disconnect DEVICE   disconnect DEVICE\n"
	      "  -c, -check DEVICE        print the pid in /sys/block/nbdN/pid and exit 0 if\n"
	      "                           DEVICE is connected; exit 1 if not\n"
	      "  -c, --check HOST|URI     negotiate, print the export's details, disconnect\n"
	      "  --status DEVICE          say what DEVICE is connected to (--json: an object);\n"
	      "                           exit 0 connected, 1 not\n"
	      "  --adopt DEVICE           become the resident process of DEVICE, which\n"
	      "                           another nbd-client attached (only -nofork may be\n"
	      "                           added: it reconnects as the attach would)\n"
	      "  -l, -list                list the server's exports\n"
	      "  -N, -name NAME           export name (default: the server's default export)\n"
	      "  -b, -block-size N        block size: 512, 1024, 2048 or 4096\n"
	      "  -B, -size BYTES          force the device size\n"
	      "  -t, -timeout SECONDS     request and negotiation timeout\n"
	      "  -T, -dead-timeout SEC    how long I/O waits for a reconnect\n"
	      "  -C, -connections N       N connections (server must allow multi-conn)\n"
	      "  -p, -persist             reconnect when the connection drops\n"
	      "  -s, -swap                lock memory: the device is used for swap\n"
	      "  -n, -nofork              stay in the foreground, log to stderr\n"
	      "  -m, -systemd-mark        mark the process so systemd spares it at shutdown\n"
	      "  -L, -nonetlink           use the ioctl interface, not netlink\n"
	      "  -R, -readonly            attach read-only\n"
	      "  -P, -preinit             no negotiation: hand the raw socket over (needs -B)\n"
	      "  -g, -no-optgo            use NBD_OPT_EXPORT_NAME instead of NBD_OPT_GO\n"
	      "  -i, -identifier ID       backend identifier shown in sysfs\n"
	      "  -u, -unix                host is a Unix socket path\n"
	      "  --json                   machine-readable output for --check, --status and\n"
	      "                           --list-devices\n"
	      "  --nbdtab FILE            read FILE instead of /etc/nbdtab\n"
	      "TLS (any of these enables TLS, which is then required):\n"
	      "  -x, -enable-tls          use TLS, verifying the server with the system CAs\n"
	      "  -A, -cacertfile FILE     CA certificates to verify the server with\n"
	      "  -F, -certfile FILE       client certificate\n"
	      "  -K, -keyfile FILE        client private key\n"
	      "  -H, -tlshostname NAME    name to verify in the server certificate\n"
	      "  -y, --priority STRING    GnuTLS priority string (default refuses < TLS 1.2)\n"
	      "  --psk-file FILE          TLS-PSK keys, as written by psktool\n"
	      "  --psk-user NAME          PSK identity to use from --psk-file\n"
	      "  --ktls auto|on|off       kernel TLS, or a proxy process (default auto)\n"
	      "  --sandbox on|off         confine the processes that stay (default on;\n"
	      "                           off is for debugging)\n"
	      "  -V, -version             print the version\n"
	      "  -h, -help                this help\n",
	      f);
}

int cli_uint(const char *s, const char *what, unsigned long long min,
	     unsigned long long max, unsigned long long *out,
	     struct nbd_err *e)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return err_set(e, "invalid %s '%s': expected a number from %llu to %llu",
		       what, s, min, max);
}

int cli_block_size(const char *s, uint32_t *out, struct nbd_err *e)
{
	unsigned long long v;

	if (cli_uint(s, "block size", 512, 4096, &v, e) < 0 || (v & (v - 1)))
		return err_set(e, "invalid block size '%s': must be 512, 1024, 2048 or 4096",
			       s);
	*out = (uint32_t)v;
	return 0;
}

static int set_str(char **dst, const char *v, struct nbd_err *e)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(e, "out of memory");
}

static int parse_uint_opt(const char *arg, const char *what,
			  unsigned long long min, unsigned long long max,
			  unsigned int *dst, struct nbd_err *e)
{
	unsigned long long v;

	if (cli_uint(arg, what, min, max, &v, e) < 0)
		return -1;
	*dst = (unsigned int)v;
	return 0;
}

/* "nbd0", "/dev/nbd12": the rule of nbd_dev_index */
static bool is_nbd_device(const char *s)
{
	struct nbd_err ignored;

	return nbd_dev_index(s, &ignored) >= 0;
}

static int set_device(struct nbd_config *c, const char *dev,
		      struct nbd_err *e)
{
	struct nbd_err ignored;
	int index = nbd_dev_index(dev, &ignored);

	if (index < 0)
		return err_set(e, "'%s' is not an nbd device (expected /dev/nbdN)",
			       dev);
	free(c->device);
	if (asprintf(&c->device, "/dev/nbd%d", index) < 0) {
		c->device = NULL;
		return err_set(e, "out of memory");
	}
	return 0;
}

static int apply_opt(int opt, const char *arg, struct nbd_config *c,
		     struct cli *out, struct nbd_err *e)
{
	struct tls_config *t = &c->tls;
	unsigned long long v;

	switch (opt) {
	case 'A': t->enabled = true; return set_str(&t->cacert, arg, e);
	case 'F': t->enabled = true; return set_str(&t->cert, arg, e);
	case 'K': t->enabled = true; return set_str(&t->key, arg, e);
	case 'H': t->enabled = true; return set_str(&t->hostname, arg, e);
	case OPT_PSK_FILE: t->enabled = true; return set_str(&t->psk_file, arg, e);
	case OPT_PSK_USER: return set_str(&t->psk_user, arg, e);
	case 'y': return set_str(&t->priority, arg, e);
	case OPT_KTLS:
		if (config_ktls_mode(arg, strlen(arg), &t->ktls) < 0)
			return err_set(e, "invalid --ktls '%s': expected auto, on or off",
				       arg);
		return 0;
	case OPT_SANDBOX:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return err_set(e, "invalid --sandbox '%s': expected on or off",
				       arg);
		c->no_sandbox = !strcmp(arg, "off");
		return 0;
	case 'x': t->enabled = true; return 0;
	case 'b': return cli_block_size(arg, &c->block_size, e);
	case 'B':
		if (cli_uint(arg, "size", 512, INT64_MAX, &v, e) < 0)
			return -1;
		c->size = v;
		return 0;
	case 'C': return parse_uint_opt(arg, "number of connections", 1, 64,
					&c->connections, e);
	case 't': return parse_uint_opt(arg, "timeout", 1, NBD_MAX_TIMEOUT_S,
					&c->timeout, e);
	case 'T': return parse_uint_opt(arg, "dead-connection timeout", 1,
					NBD_MAX_TIMEOUT_S, &c->dead_timeout, e);
	case 'N': return set_str(&c->export_name, arg, e);
	case 'i': return set_str(&c->identifier, arg, e);
	case 'p': c->persist = true; return 0;
	case 's': c->swap = true; return 0;
	case 'n': c->nofork = true; return 0;
	case 'm': c->systemd_mark = true; return 0;
	case 'L': c->nonetlink = true; return 0;
	case 'R': c->readonly = true; return 0;
	case 'P': c->preinit = true; return 0;
	case 'g': c->no_optgo = true; return 0;
	case 'u': return set_str(&c->unix_path, "", e); /* path comes later */
	case 'l': out->mode = MODE_LIST; return 0;
	case 'd': out->mode = MODE_DISCONNECT; return set_device(c, arg, e);
	case 'c':
		/* -c DEV is the reference's check (the pid in sysfs);
		 * --check HOST|URI (anything that is not a device) is our
		 * negotiation check. */
		if (is_nbd_device(arg)) {
			out->mode = MODE_PID;
			return set_device(c, arg, e);
		}
		out->mode = MODE_CHECK;
		/* "--check -t 2 host": the argument getopt took is an option */
		if (arg[0] == '-' && arg[1])
			return 2;
		return 1; /* arg is the first positional argument */
	case OPT_JSON: out->json = true; return 0;
	case OPT_LIST_DEVICES: out->mode = MODE_LIST_DEVICES; return 0;
	case OPT_STATUS:
		out->mode = MODE_STATUS;
		/* "--status --json nbd0": the argument getopt took is an
		 * option; the device comes as a positional argument */
		if (arg[0] == '-' && arg[1])
			return 2;
		return 1;
	case OPT_ADOPT:
		out->mode = MODE_ADOPT;
		/* "--adopt -nofork nbd0": the device comes later */
		if (arg[0] == '-' && arg[1])
			return 2;
		return 1;
	case OPT_NBDTAB: return set_str(&out->nbdtab, arg, e);
	case 'V': out->mode = MODE_VERSION; return 0;
	case 'h': out->mode = MODE_HELP; return 0;
	default:
		return err_set(e, "invalid option (see nbd-client -help)");
	}
}

/* The reference still accepts the old "bs=N" and "timeout=N" forms. */
static int old_style_arg(const char *a, struct nbd_config *c,
			 struct nbd_err *e)
{
	if (!strncmp(a, "bs=", 3))
		return cli_block_size(a + 3, &c->block_size, e) < 0 ? -1 : 1;
	if (!strncmp(a, "timeout=", 8))
		return parse_uint_opt(a + 8, "timeout", 1, NBD_MAX_TIMEOUT_S,
				      &c->timeout, e) < 0 ? -1 : 1;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* "/dev/sda", "/dev/../etc/x", "nbd0/..": a path, never a host or URI */
static bool device_path(const char *s)
{
	size_t n = strlen(NBD_DEV_DIR);

	if (!strncmp(s, NBD_DEV_DIR, n))
		return true;
	return !strncmp(s, "nbd", 3) && isdigit((unsigned char)s[3]) &&
	       strchr(s, '/');
}

static bool ipv6_literal(const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t n = strcspn(s, "%");	/* fe80::1%eth0 */

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* A host name or address: no '/', and a ':' only in an IPv6 address. */
static int check_host(const char *h, struct nbd_err *e)
{
	if (strchr(h, '/'))
		return err_set(e, "'%s' is not a host name or address (for a Unix socket use -unix PATH)",
			       h);
	if (strchr(h, ':') && !ipv6_literal(h))
		return err_set(e, "'%s' is not a host name or address (give the port as its own argument, host port, or use nbd://host:port/export)",
			       h);
	return 0;
}

/* The argument after the host: all digits means a port, which must fit. */
static int set_port(struct nbd_config *c, const char *s, struct nbd_err *e)
{
	unsigned long long v;

	if (cli_uint(s, "port", 1, 65535, &v, e) < 0)
		return -1;
	return set_str(&c->port, s, e);
}

/* host [port] [device] / URI [device] / socket device */
static int positionals(char **args, int n, struct nbd_config *c,
		       struct cli *out, struct nbd_err *e)
{
	int i = 0;

	if (out->mode == MODE_STATUS || out->mode == MODE_ADOPT) {
		if (n == 0)
			return err_set(e, "%s needs an nbd device (e.g. /dev/nbd0)",
				       out->mode == MODE_STATUS ? "--status" : "--adopt");
		if (n > 1)
			return err_set(e, "unexpected argument '%s'", args[1]);
		return set_device(c, args[0], e);
	}
	if (out->mode == MODE_DISCONNECT || out->mode == MODE_PID ||
	    out->mode == MODE_LIST_DEVICES || out->mode == MODE_VERSION ||
	    out->mode == MODE_HELP) {
		if (n)
			return err_set(e, "unexpected argument '%s'", args[0]);
		return 0;
	}
	if (n == 0)
		return err_set(e, "no server given (see nbd-client -help)");
	if (out->mode == MODE_ATTACH && n == 1 && !c->unix_path &&
	    is_nbd_device(args[0])) {
		out->mode = MODE_NBDTAB;
		return set_device(c, args[0], e);
	}
	if (!c->unix_path && device_path(args[0])) {
		if (set_device(c, args[0], e) < 0)
			return -1;
		/* n == 1 in attach mode was the nbdtab form, above */
		return err_set(e, "'%s' is an nbd device, not a server (the server comes first: nbd-client HOST [PORT] DEVICE)",
			       args[0]);
	}
	if (uri_is_nbd(args[0])) {
		if (c->unix_path)
			return err_set(e, "-unix cannot be combined with an NBD URI (use nbd+unix:///export?socket=PATH)");
		if (uri_parse(args[0], c, e) < 0)
			return -1;
		i = 1;
	} else if (c->unix_path) {
		if (set_str(&c->unix_path, args[i++], e) < 0)
			return -1;
	} else {
		if (check_host(args[i], e) < 0 ||
		    set_str(&c->host, args[i++], e) < 0)
			return -1;
		if (i < n && all_digits(args[i]) && set_port(c, args[i++], e) < 0)
			return -1;
	}
	if (i < n && (out->mode == MODE_LIST || out->mode == MODE_CHECK))
		return err_set(e, "unexpected argument '%s'", args[i]);
	if (i < n && set_device(c, args[i++], e) < 0)
		return -1;
	if (i < n)
		return err_set(e, "unexpected argument '%s'", args[i]);
	return 0;
}

/* opt's long name (every option has one). */
static const char *long_name(int opt)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* opt (a short option's letter, or a long option's value) needs one. */
static bool takes_argument(int opt)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == opt)
			return o->has_arg == required_argument;
	return false;
}

/*
 * getopt said '?'.  A bad letter inside a cluster ("-port": 'o') leaves
 * optind on that argument; one at its end, a long option and a missing
 * argument have moved optind past it.
 */
static void bad_option(int argc, char **argv, struct nbd_err *e)
{
	const char *a = argv[optind - 1];
	size_t n;

	if (optopt && takes_argument(optopt)) {
		err_set(e, "option '%s' needs an argument", a);
		return;
	}
	n = strlen(a);
	if (optopt && (optind < 2 || a[0] != '-' || !n || a[n - 1] != optopt) &&
	    optind < argc)
		a = argv[optind];
	if (optopt && (a[0] != '-' || a[1] != optopt || a[2]))
		err_set(e, "unknown option '-%c' in '%s' (see nbd-client -help)",
			optopt, a);
	else
		err_set(e, "unknown option '%s' (see nbd-client -help)", a);
}

/*
 * "-st 30" is -swap -timeout 30 to the reference, which has no --status
 * that getopt_long_only could take it to abbreviate: it stays that.
 */
static bool swap_timeout(char **argv, int opt)
{
	return opt == OPT_STATUS && optind >= 3 && optarg == argv[optind - 1] &&
	       !strcmp(argv[optind - 2], "-st");
}

int cli_parse(int argc, char **argv, struct nbd_config *c, struct cli *out,
	      struct nbd_err *e)
{
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int other = 0;		/* an option --adopt does not take */
	int opt, n = 0, r = -1;

	memset(out, 0, sizeof(*out));
	if (!pos)
		return err_set(e, "out of memory");
	optind = 0; /* full reset: cli_parse may run more than once */
	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, short_opts, long_opts,
				       NULL)) != -1) {
		if (opt == '?') {
			bad_option(argc, argv, e);
			goto out;
		}
		if (swap_timeout(argv, opt)) {
			c->swap = true;
			opt = 't';
		}
		if (opt != OPT_ADOPT && opt != 'n' && !other)
			other = opt;
		r = apply_opt(opt, optarg, c, out, e);
		if (r < 0)
			goto out;
		if (r == 1)
			pos[n++] = optarg;
		if (r == 2 && optarg == argv[optind - 1])
			optind--; /* hand it back to getopt */
		r = -1;
	}
	for (; optind < argc; optind++) {
		int o = old_style_arg(argv[optind], c, e);

		if (o < 0)
			goto out;
		if (!o)
			pos[n++] = argv[optind];
	}
	if (positionals(pos, n, c, out, e) < 0)
		goto out;
	if (out->mode == MODE_ADOPT && other) {
		err_set(e, "--adopt takes no option but -nofork (not -%s): the device is reconnected as it was attached",
			long_name(other));
		goto out;
	}
	if (c->unix_path && !*c->unix_path) {
		err_set(e, "-unix needs the socket path as the first argument");
		goto out;
	}
	r = 0;
out:
	free(pos);
	return r;
}

void cli_free(struct cli *out)
{
	free(out->nbdtab);
	out->nbdtab = NULL;
}
