/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error reporting: functions that fail fill a caller-owned struct nbd_err
 * and return -1.  Only the top level (main) prints it, exactly once.
 */
#ifndef NBDC_ERR_H
#define NBDC_ERR_H

#include <stdarg.h>

#define NBD_ERR_MAX 1024

struct nbd_err {
	char msg[NBD_ERR_MAX];
};

/* Set the message (printf-style).  Always returns -1 for "return err_set(...)". */
int err_set(struct nbd_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like err_set, with ": strerror(errnum)" appended. */
int err_errno(struct nbd_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with more context: "<prefix>: <old msg>". */
int err_prefix(struct nbd_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
