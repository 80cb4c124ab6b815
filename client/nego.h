/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option negotiation (fixed newstyle).  No kernel calls: everything here runs
 * and is tested on a plain host.  One concern per file:
 *   nego.c          connect, greeting and client flags, the top-level order
 *   opt-common.c    sending an option, receiving and checking one reply
 *   opt-starttls.c  NBD_OPT_STARTTLS and the upgrade
 *   opt-go.c        NBD_OPT_GO / NBD_OPT_INFO, NBD_OPT_EXPORT_NAME fallback
 *   opt-list.c      NBD_OPT_LIST
 */
#ifndef NBDC_NEGO_H
#define NBDC_NEGO_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"
#include "err.h"
#include "optreply.h"
#include "tls.h"

/* One negotiated (or negotiating) connection: what the kernel attach uses. */
struct nbd_session {
	struct nbd_conn conn;
	uint16_t hflags;	/* handshake flags from the greeting */
	bool no_zeroes;		/* NBD_FLAG_C_NO_ZEROES was sent */
	bool tls_active;	/* STARTTLS done and handshake verified */
	bool in_transmission;	/* GO or EXPORT_NAME succeeded */
	bool used_export_name;	/* fell back to NBD_OPT_EXPORT_NAME */
	struct nbd_export export;
	/* TLS credentials: the caller's (loaded once for every connection
	 * of a device), else loaded by nego_start into own_creds */
	const struct tls_creds *creds;
	struct tls_creds own_creds;
};

typedef int (*nego_list_fn)(void *opaque, const char *name,
			    const char *description);

void nego_init(struct nbd_session *s, const struct nbd_config *cfg);
void nego_close(struct nbd_session *s);

/* Connect, read the greeting, send client flags, STARTTLS if configured. */
int nego_start(struct nbd_session *s, const struct nbd_config *cfg,
	       struct nbd_err *e);
/* nego_start, then GO (or the EXPORT_NAME fallback): ready for the kernel. */
int nego_connect(struct nbd_session *s, const struct nbd_config *cfg,
		 struct nbd_err *e);
/* nego_start, then NBD_OPT_LIST (fn per export), then NBD_OPT_ABORT. */
int nego_list_exports(struct nbd_session *s, const struct nbd_config *cfg,
		      nego_list_fn fn, void *opaque, struct nbd_err *e);

/* Individual steps (opt-*.c). */
int opt_send(struct nbd_session *s, uint32_t opt, const void *data,
	     uint32_t len, struct nbd_err *e);
int opt_recv(struct nbd_session *s, uint32_t opt, struct opt_reply *r,
	     uint8_t *payload, struct nbd_err *e);
int opt_error(struct nbd_session *s, const struct nbd_config *cfg,
	      uint32_t opt, const struct opt_reply *r, const uint8_t *payload,
	      struct nbd_err *e);
int opt_starttls(struct nbd_session *s, const struct nbd_config *cfg,
		 struct nbd_err *e);
/* opt is NBD_OPT_GO or NBD_OPT_INFO.  Returns 1 if the server answered
 * NBD_REP_ERR_UNSUP (s->export is then empty again, whatever NBD_REP_INFO
 * came before), 0 on success. */
int opt_go(struct nbd_session *s, const struct nbd_config *cfg, uint32_t opt,
	   struct nbd_err *e);
int opt_export_name(struct nbd_session *s, const struct nbd_config *cfg,
		    struct nbd_err *e);
int opt_list(struct nbd_session *s, const struct nbd_config *cfg,
	     nego_list_fn fn, void *opaque, struct nbd_err *e);
/* Tell the server we are going away; best effort, never fails. */
void opt_abort(struct nbd_session *s);

#endif
