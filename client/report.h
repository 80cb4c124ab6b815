/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Human and JSON output of what negotiation found (--check, -list). */
#ifndef NBDC_REPORT_H
#define NBDC_REPORT_H

#include <stdio.h>

#include "nego.h"
#include "params.h"

/* p: what the kernel would get (NULL: it would refuse the export). */
void report_check(FILE *f, const struct nbd_session *s,
		  const struct attach_params *p, int json);
/* Writes s as a JSON string literal (with quotes). */
void report_json_string(FILE *f, const char *s);
/* "HAS_FLAGS SEND_FLUSH ..." for transmission flags */
void report_flag_names(char *buf, size_t len, uint16_t tflags);

#endif
