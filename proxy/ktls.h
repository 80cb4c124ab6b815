/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel TLS: after the handshake (and the option haggling) in userspace,
 * the session's keys, IVs and sequence numbers go to the kernel, and the
 * TCP socket itself carries TLS.  The nbd driver then gets that socket: no
 * proxy process, no copy through userspace.
 *
 * The kernel decrypts only application data for the nbd driver (it reads
 * without a control buffer): any other record (an alert, a KeyUpdate, a
 * late session ticket) fails the read, and the driver marks the link dead.
 * So every handshake asks for no tickets (GNUTLS_NO_TICKETS), and with
 * --ktls=on only for the ciphers kTLS supports (NBD_TLS_KTLS_CIPHERS).
 */
#ifndef NBDC_KTLS_H
#define NBDC_KTLS_H

#include <stdbool.h>
#include <gnutls/gnutls.h>

#include "err.h"

/*
 * Program fd for kernel TLS in both directions from s's current state.
 * Refuses (nothing changed) when GnuTLS holds decrypted data the kernel
 * would never see.  Returns 0, or -1 with e set and *unavailable set when
 * the kernel lacks kTLS or the cipher (the socket is then still usable
 * through GnuTLS), clear when the socket is now unusable.
 */
int ktls_program(int fd, gnutls_session_t s, bool *unavailable,
		 struct nbd_err *e);

#endif
