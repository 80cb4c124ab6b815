/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD URIs (shared/spec/uri.md):
 *
 *   nbd://[user@]host[:port][/export][?query]
 *   nbds://[user@]host[:port][/export][?query]
 *   nbd+unix://[user@]/[export]?socket=PATH[&query]
 *   nbds+unix://[user@]/[export]?socket=PATH[&query]
 *
 * The scheme is case-insensitive.  IPv6 literals go in brackets
 * (nbd://[::1]:10809/x, zone as [fe80::1%25eth0]); the host is stored
 * without them.  Path, user name, host and query keys and values are
 * percent-decoded; a bad escape or %00 is an error ('+' is not a space).
 *
 * Query keys: socket (only with +unix, required there), tls-certificates
 * (tls.cert_dir), tls-psk-file (tls.psk_file), tls-username
 * (tls.psk_user).  Anything else is an error, as is a key given twice, a
 * key without a value, and both tls-certificates and tls-psk-file.
 */
#ifndef NBDC_URI_H
#define NBDC_URI_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

/*
 * True if s starts with nbd://, nbds://, nbd+unix:// or nbds+unix://
 * (scheme compared case-insensitively).  NULL is not an NBD URI.
 */
bool uri_is_nbd(const char *s);

/*
 * Parse the NBD URI s into c.  Returns 0, or -1 with e set; on error c is
 * left exactly as it was (the URI is parsed in full before c is touched).
 *
 * What the URI gives wins over what is already in c (say from the command
 * line); the old value is freed.  Fields the URI does not give are kept:
 *   uri          always replaced by a copy of s.
 *   host, port   nbd/nbds: host replaced, unix_path freed; port replaced
 *                only when the URI has one (normalised: "010809" ->
 *                "10809"), otherwise kept, so NULL means 10809.
 *   unix_path    nbd+unix/nbds+unix: replaced by socket=; host and port
 *                are freed.
 *   export_name  replaced only when the URI has a path: "/" gives "" (the
 *                default export), "/x" gives "x", "//x" gives "/x".  With
 *                no path at all (nbd://host) it is kept, NULL = "".
 *   tls.enabled  set to true (never cleared) for nbds and nbds+unix, and
 *                whenever a user name or a tls-* key is given: there is no
 *                opportunistic TLS, so asking for TLS details fails closed.
 *   tls.cert_dir, tls.psk_file, tls.psk_user
 *                replaced when given; the user name may come from the
 *                userinfo (nbd://alice@host/) or tls-username=, not both.
 *   tls.hostname is never set: the host is the default name to verify.
 *
 * The authority of a +unix URI may hold a user name but no host or port.
 * A password in the userinfo, a fragment ('#') and raw spaces or control
 * characters are rejected.
 */
int uri_parse(const char *s, struct nbd_config *c, struct nbd_err *e);

#endif
