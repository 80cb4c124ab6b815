/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/nbdtab (nbdtab(5)): one device per line,
 *
 *   <dev> <host-or-socket> <export> [opt,opt=val,...]
 *
 * Fields are separated by runs of spaces or tabs (a '\r' before the
 * newline is ignored).  A '#' at the start of a field starts a comment
 * that runs to the end of the line; inside a field it is an ordinary
 * character (as with the reference lexer).  Blank lines and leading
 * whitespace are fine.  dev is nbdN or /dev/nbdN.  With the unix flag the
 * second field is a socket path, otherwise a host name or address (an
 * IPv6 address may be written in brackets, which are dropped).  There is
 * no quoting: values cannot contain spaces or commas.
 *
 * Options, comma-separated with no spaces:
 *   bs=N            block size: 512, 1024, 2048 or 4096 (as -b)
 *                   (the kernel may allow less, e.g. up to the page size)
 *   size=N          device size in bytes, a multiple of bs (or of 512)
 *   timeout=S       request timeout, 1..2147483 seconds (its milliseconds
 *   dead-timeout=S  fit an int, S * HZ the kernel's 32-bit jiffies)
 *   port=N          TCP port 1..65535 (not with unix); default 10809
 *   conns=N         connections, 1..64
 *   identifier=S    backend identifier
 *   certfile=F keyfile=F cacertfile=F tlshostname=H priority=S
 *   psk-file=F psk-user=U
 *                   TLS settings; each of them turns TLS on
 *   flags: persist swap unix no_optgo preinit tls readonly nonetlink
 *          systemd-mark nofork noauto (noauto: for the systemd generator,
 *          ignored by the client)
 *
 * Every line is checked, not just the one looked up: a syntax error, a
 * bad value, a flag given a value, a value option without one, an empty
 * option or an option given twice on any line is an error
 * "ORIGIN:LINE: ...", and so is a second line for the device looked up.
 * An unknown option is a warning "ORIGIN:LINE: unknown option 'x'
 * ignored", given only for the line looked up (so that looking up every
 * device does not repeat every warning); options starting with '_' are
 * for local use and ignored silently.
 *
 * Unlike the reference client, options already set in the config (the
 * command line) are kept: nbdtab values only fill fields left unset
 * (NULL, 0, false, connections <= 1).  Flags are OR-ed in.  The host (or
 * socket) and its port are taken together, and only when the config has
 * neither a host nor a socket path.  Each line stands alone: port is
 * NULL (10809) unless that line says port=.
 */
#ifndef NBDC_NBDTAB_H
#define NBDC_NBDTAB_H

#include <stddef.h>

#include "config.h"
#include "err.h"

/* Files larger than this are refused. */
#define NBDTAB_MAX_SIZE (1024 * 1024)

/* Receives one warning, a single line without a trailing newline. */
typedef void (*nbdtab_warn_fn)(void *opaque, const char *msg);

/*
 * Look dev ("nbd0" or "/dev/nbd0") up in text[0..len) (need not be
 * NUL-terminated; a NUL byte in it is an error).  origin names the text in
 * messages ("/etc/nbdtab"; NULL gives "nbdtab").  warn may be NULL.
 *
 * Returns 1 when found: c->device is set to "/dev/nbdN" and the rest is
 * filled as described above.  Returns 0 when dev has no line: c is
 * untouched and e holds "no entry for nbdN in ORIGIN", ready to print.
 * Returns -1 with e set on an error (in any line, or a bad dev); c is then
 * untouched too.
 */
int nbdtab_parse(const char *text, size_t len, const char *origin, const char *dev,
		 struct nbd_config *c, nbdtab_warn_fn warn, void *opaque, struct nbd_err *e);

/*
 * Read the file at path (at most NBDTAB_MAX_SIZE bytes) and nbdtab_parse()
 * it with path as the origin.  Same return values; a file that cannot be
 * read gives "cannot read PATH: <strerror>".
 */
int nbdtab_lookup(const char *path, const char *dev, struct nbd_config *c,
		  nbdtab_warn_fn warn, void *opaque, struct nbd_err *e);
/* An nbdtab_warn_fn: "nbd-client: warning: MSG" on stderr. */
void nbdtab_warn_stderr(void *opaque, const char *msg);
/*
 * nbd-client nbdX: look c->device up in path (NULL: SYSCONFDIR/nbdtab),
 * warnings on stderr.  0, or -1 with e set ("PATH has no entry for DEV"
 * when it has none).
 */
int nbdtab_load(const char *path, struct nbd_config *c, struct nbd_err *e);

#endif
