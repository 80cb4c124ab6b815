// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hand a GnuTLS session's record state to the kernel (TCP_ULP "tls",
 * TLS_TX, TLS_RX).  Debian's GnuTLS is built without kTLS, so we program
 * the socket ourselves, as ktls-utils' tlshd does.
 *
 * Every tls12_crypto_info_* struct is the common header followed by byte
 * arrays: iv, key, salt, rec_seq.  One table row per cipher gives their
 * sizes; the asserts below check the layout against the kernel's structs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/tls.h>

#include "ktls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define KTLS_SEQ_LEN 8
#define KTLS_INFO_MAX 128

struct ktls_cipher {
	gnutls_cipher_algorithm_t gnutls;
	unsigned short type;	/* TLS_CIPHER_* */
	const char *name;
	unsigned char iv, key, salt;
};

static const struct ktls_cipher ciphers[] = {
	{ GNUTLS_CIPHER_AES_128_GCM, TLS_CIPHER_AES_GCM_128, "AES-128-GCM",
	  TLS_CIPHER_AES_GCM_128_IV_SIZE, TLS_CIPHER_AES_GCM_128_KEY_SIZE,
	  TLS_CIPHER_AES_GCM_128_SALT_SIZE },
	{ GNUTLS_CIPHER_AES_256_GCM, TLS_CIPHER_AES_GCM_256, "AES-256-GCM",
	  TLS_CIPHER_AES_GCM_256_IV_SIZE, TLS_CIPHER_AES_GCM_256_KEY_SIZE,
	  TLS_CIPHER_AES_GCM_256_SALT_SIZE },
	{ GNUTLS_CIPHER_CHACHA20_POLY1305, TLS_CIPHER_CHACHA20_POLY1305,
	  "CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE,
	  TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
	  TLS_CIPHER_CHACHA20_POLY1305_SALT_SIZE },
};

#define LAYOUT(st, ivn, keyn, saltn)                                        \
	_Static_assert(offsetof(struct st, iv) == sizeof(struct tls_crypto_info) && \
		       offsetof(struct st, key) == offsetof(struct st, iv) + ivn && \
		       offsetof(struct st, salt) == offsetof(struct st, key) + keyn && \
		       offsetof(struct st, rec_seq) ==                     \
			       offsetof(struct st, salt) + saltn &&         \
		       sizeof(struct st) ==                                 \
			       offsetof(struct st, rec_seq) + KTLS_SEQ_LEN, \
		       #st " layout")
LAYOUT(tls12_crypto_info_aes_gcm_128, TLS_CIPHER_AES_GCM_128_IV_SIZE,
       TLS_CIPHER_AES_GCM_128_KEY_SIZE, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
LAYOUT(tls12_crypto_info_aes_gcm_256, TLS_CIPHER_AES_GCM_256_IV_SIZE,
       TLS_CIPHER_AES_GCM_256_KEY_SIZE, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
LAYOUT(tls12_crypto_info_chacha20_poly1305,
       TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE,
       TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
       TLS_CIPHER_CHACHA20_POLY1305_SALT_SIZE);

static const struct ktls_cipher *find_cipher(gnutls_session_t s)
{
	gnutls_cipher_algorithm_t a = gnutls_cipher_get(s);
	size_t i;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (ciphers[i].gnutls == a)
			return &ciphers[i];
	return NULL;
}

static unsigned short kernel_version(gnutls_session_t s)
{
	switch (gnutls_protocol_get_version(s)) {
	case GNUTLS_TLS1_2:
		return TLS_1_2_VERSION;
	case GNUTLS_TLS1_3:
		return TLS_1_3_VERSION;
	default:
		return 0;
	}
}

static bool is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

/*
 * Fill buf with the crypto_info for one direction.  The kernel wants the
 * implicit part of the nonce as salt and, for TLS 1.2, the sequence number
 * as the explicit part; TLS 1.3 (and ChaCha20, which has no salt) take the
 * rest of GnuTLS's IV.
 */
static int crypto_info(gnutls_session_t s, const struct ktls_cipher *k,
		       bool rx, unsigned char *buf, size_t *len,
		       struct nbd_err *e)
{
	struct tls_crypto_info hdr = { .version = kernel_version(s),
				       .cipher_type = k->type };
	gnutls_datum_t mac, iv, key;
	unsigned char seq[KTLS_SEQ_LEN];
	unsigned char *p = buf + sizeof(hdr);
	unsigned int need;
	int r;

	r = gnutls_record_get_state(s, rx, &mac, &iv, &key, seq);
	if (r < 0)
		return err_set(e, "cannot read the TLS session's %s keys: %s",
			       rx ? "receive" : "send", gnutls_strerror(r));
	/* TLS 1.2 AES-GCM: GnuTLS's IV is the 4-byte salt alone */
	need = k->salt && hdr.version == TLS_1_2_VERSION ? k->salt
							 : k->salt + k->iv;
	if (key.size != k->key || iv.size < need)
		return err_set(e, "unexpected %s key or IV size from GnuTLS (%u, %u)",
			       k->name, key.size, iv.size);
	memcpy(buf, &hdr, sizeof(hdr));
	if (k->salt && hdr.version == TLS_1_2_VERSION)
		memcpy(p, seq, k->iv);
	else
		memcpy(p, iv.data + k->salt, k->iv);
	p += k->iv;
	memcpy(p, key.data, k->key);
	p += k->key;
	memcpy(p, iv.data, k->salt);
	p += k->salt;
	memcpy(p, seq, KTLS_SEQ_LEN);
	*len = (size_t)(p - buf) + KTLS_SEQ_LEN;
	return 0;
}

static int set_direction(int fd, gnutls_session_t s,
			 const struct ktls_cipher *k, bool rx,
			 struct nbd_err *e)
{
	unsigned char buf[KTLS_INFO_MAX];
	size_t len = 0;
	int r;

	if (crypto_info(s, k, rx, buf, &len, e) < 0)
		return -1;
	r = setsockopt(fd, SOL_TLS, rx ? TLS_RX : TLS_TX, buf,
		       (socklen_t)len);
	memset(buf, 0, sizeof(buf));
	if (r < 0)
		return err_errno(e, errno, "the kernel refused the %s key for %s (TLS_%s)",
				 k->name, rx ? "receiving" : "sending",
				 rx ? "RX" : "TX");
	return 0;
}

int ktls_program(int fd, gnutls_session_t s, bool *unavailable,
		 struct nbd_err *e)
{
	const struct ktls_cipher *k = find_cipher(s);

	*unavailable = true;
	if (!k || !kernel_version(s)) {
		char d[64];

		snprintf(d, sizeof(d), "%s, %s",
			 gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
			 gnutls_cipher_get_name(gnutls_cipher_get(s)));
		return err_set(e, "kernel TLS cannot take over %s (it needs TLS 1.2 or 1.3 with AES-128-GCM, AES-256-GCM or CHACHA20-POLY1305)",
			       d);
	}
	if (!is_tcp(fd))
		return err_set(e, "kernel TLS works on TCP connections only, not on a Unix socket");
	if (gnutls_record_check_pending(s) > 0)
		return err_set(e, "kernel TLS cannot take over: GnuTLS holds %zu bytes the server sent early",
			       gnutls_record_check_pending(s));
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		return err_errno(e, errno, "the kernel has no TLS (TCP_ULP \"tls\"; is the tls module available?)");
	/* With the ULP but no keys the socket is still plain TCP. */
	if (set_direction(fd, s, k, false, e) < 0)
		return -1;
	*unavailable = false;
	return set_direction(fd, s, k, true, e);
}
