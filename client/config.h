/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the user asked for, from the command line, an NBD URI or /etc/nbdtab.
 * Plain data: every string is heap-owned and freed by config_free().
 */
#ifndef NBDC_CONFIG_H
#define NBDC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBD_DEFAULT_PORT "10809"
/* -timeout / -dead-timeout upper bound: its milliseconds fit an int (poll),
 * and its jiffies the kernel's request timeout (about 24 days). */
#define NBD_MAX_TIMEOUT_S 2147483

/* --ktls / nbdtab ktls=: whether the kernel's socket itself carries TLS
 * (kernel TLS) or a proxy process does.  UNSET means NBD_KTLS_DEFAULT. */
enum ktls_mode { KTLS_UNSET, KTLS_OFF, KTLS_AUTO, KTLS_ON };
#define NBD_KTLS_DEFAULT KTLS_AUTO

struct tls_config {
	bool enabled;		/* STARTTLS is sent; TLS is then required */
	char *cacert;		/* -A: CA bundle (PEM); NULL = system trust */
	char *cert;		/* -F: client certificate (PEM) */
	char *key;		/* -K: client private key (PEM) */
	char *cert_dir;		/* URI tls-certificates=DIR (ca-cert.pem,
				 * client-cert.pem, client-key.pem) */
	char *hostname;		/* -H: name to verify; default: the host */
	char *priority;		/* --priority / -y: GnuTLS priority string */
	char *psk_file;		/* --psk-file: psktool format */
	char *psk_user;		/* --psk-user */
	enum ktls_mode ktls;
};

struct nbd_config {
	/* where */
	char *host;		/* TCP host name or address */
	char *port;		/* TCP port (string, numeric); NULL = 10809 */
	char *unix_path;	/* -u or nbd+unix: AF_UNIX socket path */
	char *export_name;	/* -N; NULL = "" (default export) */
	char *uri;		/* the URI the user gave, if any */

	/* device */
	char *device;		/* /dev/nbdN, NULL = let the kernel pick */
	uint32_t block_size;	/* -b, 0 = not given */
	uint64_t size;		/* -B, 0 = not given */
	unsigned int timeout;	/* -t seconds, 0 = not given */
	unsigned int dead_timeout; /* -T seconds, 0 = not given */
	unsigned int connections; /* -C, default 1 */
	char *identifier;	/* -i backend identifier */

	/* behaviour flags */
	bool persist;		/* -p */
	bool swap;		/* -s */
	bool nofork;		/* -n */
	bool systemd_mark;	/* -m */
	bool nonetlink;		/* -L */
	bool readonly;		/* -R */
	bool preinit;		/* -P */
	bool no_optgo;		/* -g */
	bool no_sandbox;	/* --sandbox=off */

	struct tls_config tls;
};

void config_init(struct nbd_config *c);
/* "auto", "on" or "off" (len bytes of s) into *m; -1 if none of them. */
int config_ktls_mode(const char *s, size_t len, enum ktls_mode *m);
/* The mode in effect (the default for UNSET). */
enum ktls_mode config_ktls(const struct tls_config *t);
void config_free(struct nbd_config *c);

#endif
