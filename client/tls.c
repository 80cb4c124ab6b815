// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "tls.h"
#include "tls-refused.h"

#define PSK_FILE_MAX (64 * 1024)

static int tls_fail(struct nbd_err *e, int r, const char *what)
{
	return err_set(e, "TLS: %s: %s", what, gnutls_strerror(r));
}

static int file_readable(const char *path, const char *what,
			 struct nbd_err *e)
{
	struct stat st;

	if (access(path, R_OK) < 0)
		return err_errno(e, errno, "cannot read %s '%s'", what, path);
	/* GnuTLS would only say "Error while reading file." */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return err_set(e, "%s '%s' is a directory, not a file",
			       what, path);
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static int load_ca(struct tls_creds *c, const char *cafile, struct nbd_err *e)
{
	struct stat st;
	int r;

	if (cafile) {
		if (file_readable(cafile, "CA certificate file", e) < 0)
			return -1;
		if (stat(cafile, &st) == 0 && S_ISREG(st.st_mode) && !st.st_size)
			return err_set(e, "CA certificate file '%s' is empty (expected PEM certificates)",
				       cafile);
		r = gnutls_certificate_set_x509_trust_file(c->x509, cafile,
							   GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(e, "cannot load CA certificates from '%s': %s",
				       cafile, gnutls_strerror(r));
		if (r == 0)
			return err_set(e, "no CA certificate found in '%s' (expected PEM)",
				       cafile);
		return 0;
	}
	r = gnutls_certificate_set_x509_system_trust(c->x509);
	if (r <= 0)
		return err_set(e, "no CA certificates to verify the server with: the system trust store is empty or unreadable; pass -cacertfile FILE");
	return 0;
}

/* A private key or PSK file others can read is not private: say so
 * (once: the credentials are loaded once), and go on.  what: "client
 * key", "PSK file". */
static void key_mode_warning(struct tls_creds *c, const char *what,
			     const char *key)
{
	struct stat st;

	if (stat(key, &st) == 0 && (st.st_mode & 077))
		snprintf(c->warning, sizeof(c->warning),
			 "%s '%s' is accessible to other users (mode %04o): chmod 600 '%s'",
			 what, key, (unsigned int)(st.st_mode & 07777), key);
}

/* A secret's bytes, gone before the memory is: explicit_bzero, which the
 * compiler may not drop as a dead store before free. */
static void free_secret(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len);
	free(s);
}

static int load_client_cert(struct tls_creds *c, const char *cert,
			    const char *key, struct nbd_err *e)
{
	int r;

	if (!cert && !key)
		return 0;
	/* like the reference: a key file alone also holds the certificate */
	if (!cert)
		cert = key;
	if (!key)
		key = cert;
	if (file_readable(cert, "client certificate", e) < 0 ||
	    file_readable(key, "client key", e) < 0)
		return -1;
	key_mode_warning(c, "client key", key);
	r = gnutls_certificate_set_x509_key_file(c->x509, cert, key,
						 GNUTLS_X509_FMT_PEM);
	if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
		return err_set(e, "client key '%s' does not match client certificate '%s' (pass the key the certificate was made for)",
			       key, cert);
	if (r < 0)
		return err_set(e, "cannot load client certificate '%s' with key '%s': %s",
			       cert, key, gnutls_strerror(r));
	return 0;
}

/* tls-certificates=DIR: the file names libnbd and qemu use. */
static int x509_from_dir(struct tls_creds *c, const char *dir,
			 struct nbd_err *e)
{
	char *ca = path_join(dir, "ca-cert.pem");
	char *cert = path_join(dir, "client-cert.pem");
	char *key = path_join(dir, "client-key.pem");
	int r = -1;

	if (!ca || !cert || !key) {
		err_errno(e, ENOMEM, "tls-certificates");
		goto out;
	}
	if (access(dir, R_OK | X_OK) < 0) {
		err_errno(e, errno, "cannot read TLS certificate directory '%s'",
			  dir);
		goto out;
	}
	if (load_ca(c, access(ca, F_OK) == 0 ? ca : NULL, e) < 0)
		goto out;
	if (access(cert, F_OK) == 0 &&
	    load_client_cert(c, cert, key, e) < 0)
		goto out;
	r = 0;
out:
	free(ca);
	free(cert);
	free(key);
	return r;
}

static int load_x509(struct tls_creds *c, const struct tls_config *t,
		     struct nbd_err *e)
{
	int r = gnutls_certificate_allocate_credentials(&c->x509);

	if (r < 0) {
		c->x509 = NULL;
		return tls_fail(e, r, "allocating credentials");
	}
	if (t->cert_dir)
		return x509_from_dir(c, t->cert_dir, e);
	return load_ca(c, t->cacert, e) < 0 ||
			       load_client_cert(c, t->cert, t->key, e) < 0
		       ? -1
		       : 0;
}

/* The whole file, NUL-terminated; *len: the size allocated (to wipe). */
static char *read_small_file(const char *path, const char *what,
			     size_t *len, struct nbd_err *e)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_errno(e, errno, "cannot read %s '%s'", what, path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size > PSK_FILE_MAX) {
		err_set(e, "%s '%s' is not a small regular file", what, path);
		goto out;
	}
	*len = (size_t)st.st_size + 1;
	buf = calloc(1, *len);
	if (!buf) {
		err_errno(e, ENOMEM, "%s", what);
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		err_errno(e, n < 0 ? errno : EIO, "cannot read %s '%s'", what,
			  path);
		free_secret(buf, *len);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

static int hexkey_ok(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len % 2)
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", k[i]))
			return 0;
	return 1;
}

/*
 * psktool format: one "username:hexkey" per line.  With no user given the
 * file must hold exactly one identity.
 */
int tls_psk_lookup(const char *text, const char *user, const char *origin,
		   char **user_out, char **key_out, struct nbd_err *e)
{
	const char *line = text, *nl, *colon;
	int lineno = 0, found = 0;

	*user_out = *key_out = NULL;
	for (; *line; line = nl + (*nl != 0)) {
		size_t len, ulen;

		nl = line + strcspn(line, "\n");
		len = (size_t)(nl - line);
		lineno++;
		if (len && line[len - 1] == '\r')
			len--;
		if (!len || line[0] == '#')
			continue;
		colon = memchr(line, ':', len);
		if (!colon || colon == line)
			goto bad;
		ulen = (size_t)(colon - line);
		if (!hexkey_ok(colon + 1, len - ulen - 1))
			goto bad;
		if (user && (strlen(user) != ulen || memcmp(user, line, ulen)))
			continue;
		if (found++)
			goto many;
		*user_out = strndup(line, ulen);
		*key_out = strndup(colon + 1, len - ulen - 1);
	}
	if (!found) {
		if (user)
			return err_set(e, "PSK file '%s' has no key for user '%s'",
				       origin, user);
		return err_set(e, "PSK file '%s' holds no key", origin);
	}
	if (!*user_out || !*key_out)
		return err_errno(e, ENOMEM, "PSK");
	return 0;
bad:
	free(*user_out);
	free_secret(*key_out, *key_out ? strlen(*key_out) : 0);
	*user_out = *key_out = NULL;
	return err_set(e, "%s:%d: expected 'username:hexkey' (as psktool writes)",
		       origin, lineno);
many:
	free(*user_out);
	free_secret(*key_out, *key_out ? strlen(*key_out) : 0);
	*user_out = *key_out = NULL;
	return err_set(e, "PSK file '%s' holds several identities; choose one with --psk-user",
		       origin);
}

static int load_psk(struct tls_creds *c, const struct tls_config *t,
		    struct nbd_err *e)
{
	char *text, *user = NULL, *key = NULL;
	gnutls_datum_t kd;
	size_t len = 0;
	int r = -1;

	text = read_small_file(t->psk_file, "PSK file", &len, e);
	if (!text)
		return -1;
	key_mode_warning(c, "PSK file", t->psk_file);
	if (tls_psk_lookup(text, t->psk_user, t->psk_file, &user, &key, e) < 0)
		goto out;
	r = gnutls_psk_allocate_client_credentials(&c->psk);
	if (r < 0) {
		c->psk = NULL;
		r = tls_fail(e, r, "allocating PSK credentials");
		goto out;
	}
	kd.data = (unsigned char *)key;
	kd.size = (unsigned int)strlen(key);
	r = gnutls_psk_set_client_credentials(c->psk, user, &kd,
					      GNUTLS_PSK_KEY_HEX);
	if (r < 0)
		r = err_set(e, "cannot use the PSK for '%s' from '%s': %s",
			    user, t->psk_file, gnutls_strerror(r));
out:
	/* GnuTLS has its own copy: ours go, wiped */
	free_secret(key, key ? strlen(key) : 0);
	free_secret(text, len);
	free(user);
	return r < 0 ? -1 : 0;
}

static int set_priority(struct nbd_conn *c, const struct tls_config *t,
			struct nbd_err *e)
{
	const char *errpos = NULL;
	char prio[512];
	int r;

	if (t->priority)
		snprintf(prio, sizeof(prio), "%s", t->priority);
	else
		snprintf(prio, sizeof(prio), "%s%s%s", NBD_TLS_DEFAULT_PRIORITY,
			 t->psk_file ? NBD_TLS_PSK_KX : "",
			 config_ktls(t) == KTLS_ON ? NBD_TLS_KTLS_CIPHERS : "");
	r = gnutls_priority_set_direct(c->tls, prio, &errpos);
	if (r < 0)
		return err_set(e, "invalid TLS priority string '%s' (at '%s'): %s",
			       prio, errpos ? errpos : "", gnutls_strerror(r));
	return 0;
}

static int is_ip_literal(const char *h)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/*
 * Refuse contradictory or unreadable TLS settings before reading them, so
 * a typo is reported as such.
 */
static int tls_check_config(const struct tls_config *t, struct nbd_err *e)
{
	if (t->psk_file && (t->cacert || t->cert || t->key || t->cert_dir))
		return err_set(e, "choose either a PSK (--psk-file) or certificates (-cacertfile/-certfile/-keyfile), not both");
	if (t->cacert && file_readable(t->cacert, "CA certificate file", e) < 0)
		return -1;
	if (t->cert && file_readable(t->cert, "client certificate", e) < 0)
		return -1;
	if (t->key && file_readable(t->key, "client key", e) < 0)
		return -1;
	if (t->psk_file && file_readable(t->psk_file, "PSK file", e) < 0)
		return -1;
	if (t->cert_dir && access(t->cert_dir, R_OK | X_OK) < 0)
		return err_errno(e, errno, "cannot read TLS certificate directory '%s'",
				 t->cert_dir);
	return 0;
}

int tls_creds_load(struct tls_creds *cr, const struct tls_config *t,
		   struct nbd_err *e)
{
	memset(cr, 0, sizeof(*cr));
	if (tls_check_config(t, e) < 0 ||
	    (t->psk_file ? load_psk(cr, t, e) : load_x509(cr, t, e)) < 0) {
		tls_creds_free(cr);
		return -1;
	}
	cr->loaded = true;
	return 0;
}

void tls_creds_free(struct tls_creds *cr)
{
	if (cr->x509)
		gnutls_certificate_free_credentials(cr->x509);
	if (cr->psk)
		gnutls_psk_free_client_credentials(cr->psk);
	memset(cr, 0, sizeof(*cr));
}

static int setup_session(struct nbd_conn *c, const struct tls_config *t,
			 const struct tls_creds *cr, const char *name,
			 struct nbd_err *e)
{
	/* no session tickets: we never resume, and a ticket arriving after
	 * kernel TLS took over would kill the link */
	int r = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
					     GNUTLS_NO_SIGNAL |
					     GNUTLS_NO_TICKETS);

	if (r < 0) {
		c->tls = NULL;
		return tls_fail(e, r, "gnutls_init");
	}
	if (set_priority(c, t, e) < 0)
		return -1;
	if (!cr->loaded)
		return err_set(e, "internal error: TLS credentials not loaded");
	if (cr->psk)
		r = gnutls_credentials_set(c->tls, GNUTLS_CRD_PSK, cr->psk);
	else
		r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
					   cr->x509);
	if (r < 0)
		return tls_fail(e, r, "setting credentials");
	if (!cr->psk) {
		/* verify the chain, and the name unless we have none */
		gnutls_session_set_verify_cert(c->tls, name, 0);
		if (name && !is_ip_literal(name))
			gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, name,
					       strlen(name));
	}
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, 0);
	return 0;
}

/*
 * Whether the server's certificate names DNS names but no IP address
 * (then the first DNS name is copied to first).
 */
static bool dns_names_only(gnutls_session_t s, char *first, size_t len)
{
	const gnutls_datum_t *der;
	gnutls_x509_crt_t crt;
	unsigned int n = 0, i;
	bool dns = false, ip = false;
	char san[256];
	size_t sl;
	int t;

	der = gnutls_certificate_get_peers(s, &n);
	if (!der || !n || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &der[0], GNUTLS_X509_FMT_DER) < 0)
		goto out;
	for (i = 0;; i++) {
		sl = sizeof(san) - 1;
		t = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &sl, NULL);
		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t == GNUTLS_SAN_IPADDRESS)
			ip = true;
		if (t == GNUTLS_SAN_DNSNAME && !dns) {
			san[sl] = 0;
			snprintf(first, len, "%s", san);
			dns = true;
		}
	}
out:
	gnutls_x509_crt_deinit(crt);
	return dns && !ip;
}

static void name_reason(gnutls_session_t s, const char *name, char *buf,
			size_t len)
{
	char dns[256];

	if (name && is_ip_literal(name) && dns_names_only(s, dns, sizeof(dns)))
		snprintf(buf, len, "it holds DNS names only ('%s'), not the IP address %s (connect by name, or pass -tlshostname %s)",
			 dns, name, dns);
	else
		snprintf(buf, len, "its name does not match '%s' (check the host name, or pass -tlshostname NAME)",
			 name ? name : "");
}

/* Turn the verification status bits into the reason a user can act on. */
static void cert_reason(gnutls_session_t s, unsigned int st, const char *name,
			char *buf, size_t len)
{
	if (st & GNUTLS_CERT_SIGNER_NOT_FOUND)
		snprintf(buf, len, "it is signed by an unknown CA (pass the right -cacertfile)");
	else if (st & GNUTLS_CERT_UNEXPECTED_OWNER)
		name_reason(s, name, buf, len);
	else if (st & GNUTLS_CERT_EXPIRED)
		snprintf(buf, len, "it has expired");
	else if (st & GNUTLS_CERT_NOT_ACTIVATED)
		snprintf(buf, len, "it is not yet valid (check the clock)");
	else if (st & GNUTLS_CERT_REVOKED)
		snprintf(buf, len, "it has been revoked");
	else if (st & GNUTLS_CERT_INSECURE_ALGORITHM)
		snprintf(buf, len, "it uses an insecure algorithm");
	else if (st & GNUTLS_CERT_SIGNER_NOT_CA)
		snprintf(buf, len, "its signer is not a CA");
	else
		snprintf(buf, len, "status 0x%x", st);
}

static int handshake_error(struct nbd_conn *c, int r, const char *name,
			   struct nbd_err *e)
{
	char why[768];

	if (tls_cert_refused(c->tls, r, c->tls_ready, c->tls_data, c->peer,
			     e)) {
		c->tls_refused = true;
		return -1;
	}
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		cert_reason(c->tls, gnutls_session_get_verify_cert_status(c->tls),
			    name, why, sizeof(why));
		return err_set(e, "TLS handshake with %s failed: the server certificate is not trusted: %s",
			       c->peer, why);
	}
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return err_set(e, "TLS handshake with %s failed: the server sent alert '%s' (does it accept our credentials?)",
			       c->peer,
			       gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
	    r == GNUTLS_E_PUSH_ERROR)
		return err_set(e, "TLS handshake with %s failed: the server closed the connection (it may not accept our credentials)",
			       c->peer);
	/* what a man in the middle would cause: say so, not GnuTLS's words */
	if (r == GNUTLS_E_UNEXPECTED_PACKET)
		return err_set(e, "TLS handshake with %s failed: what came back is not TLS (the server, or someone in the middle, accepted NBD_OPT_STARTTLS but did not start TLS)",
			       c->peer);
	if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH)
		return err_set(e, "TLS handshake with %s failed: the connection was cut in the middle of a TLS record",
			       c->peer);
	if (r == GNUTLS_E_DECRYPTION_FAILED)
		return err_set(e, "TLS handshake with %s failed: a record from the server could not be decrypted (tampered with, or replayed from another session)",
			       c->peer);
	return err_set(e, "TLS handshake with %s failed: %s", c->peer,
		       gnutls_strerror(r));
}

static int run_handshake(struct nbd_conn *c, const char *name,
			 struct nbd_err *e)
{
	int r;

	conn_begin_op(c, -1);	/* one deadline for the whole handshake */
	for (;;) {
		r = gnutls_handshake(c->tls);
		if (r == 0)
			break;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
		    gnutls_error_is_fatal(r))
			return handshake_error(c, r, name, e);
		if (r == GNUTLS_E_AGAIN &&
		    conn_wait(c, gnutls_record_get_direction(c->tls) ? POLLOUT
								     : POLLIN,
			      e) < 0)
			return err_prefix(e, "TLS handshake");
	}
	if (gnutls_protocol_get_version(c->tls) < GNUTLS_TLS1_2)
		return err_set(e, "TLS handshake with %s negotiated %s; TLS 1.2 or later is required",
			       c->peer, tls_version_name(c->tls));
	c->tls_ready = true;
	return 0;
}

int tls_upgrade(struct nbd_conn *c, const struct tls_config *t,
		const struct tls_creds *cr, const char *host,
		struct nbd_err *e)
{
	const char *name = t->hostname ? t->hostname : host;

	if (setup_session(c, t, cr, name, e) < 0)
		return -1;
	return run_handshake(c, name, e);
}

const char *tls_version_name(gnutls_session_t s)
{
	const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(s));

	return v ? v : "unknown";
}

const char *tls_cipher_name(gnutls_session_t s)
{
	const char *v = gnutls_cipher_get_name(gnutls_cipher_get(s));

	return v ? v : "unknown";
}

void tls_describe(gnutls_session_t s, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %s", tls_version_name(s), tls_cipher_name(s));
}
