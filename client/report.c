// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "report.h"
#include "tls.h"

static const char *const flag_names[16] = {
	"HAS_FLAGS", "READ_ONLY", "SEND_FLUSH", "SEND_FUA", "ROTATIONAL",
	"SEND_TRIM", "SEND_WRITE_ZEROES", "SEND_DF", "CAN_MULTI_CONN",
	"SEND_RESIZE", "SEND_CACHE", "SEND_FAST_ZERO", "BLOCK_STAT_PAYLOAD",
};

void report_flag_names(char *buf, size_t len, uint16_t tflags)
{
	size_t used = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < 16 && used < len; i++) {
		if (!(tflags & (1u << i)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? " " : "",
					 flag_names[i] ? flag_names[i] : "?");
	}
}

void report_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* What the kernel would get: its logical block size and request limit. */
static void device_text(FILE *f, const struct attach_params *p)
{
	fprintf(f, "device block size: %u\n", p->block_size);
	if (p->max_request)
		fprintf(f, "device request limit: %u bytes (the server's maximum payload)\n",
			p->max_request);
	else
		fprintf(f, "device request limit: none (the kernel's default)\n");
}

static void check_text(FILE *f, const struct nbd_session *s,
		       const struct attach_params *p)
{
	const struct nbd_export *x = &s->export;
	char flags[256], tls[128];

	report_flag_names(flags, sizeof(flags), x->tflags);
	fprintf(f, "export: %s\n", x->name ? x->name : "");
	if (x->description)
		fprintf(f, "description: %s\n", x->description);
	fprintf(f, "size: %llu\n", (unsigned long long)x->size);
	fprintf(f, "flags: 0x%04x %s\n", x->tflags, flags);
	if (x->have_block_size)
		fprintf(f, "block size: minimum %u, preferred %u, maximum %u\n",
			x->min_block, x->pref_block, x->max_block);
	else
		fprintf(f, "block size: not advertised\n");
	if (p)
		device_text(f, p);
	if (s->tls_active) {
		tls_describe(s->conn.tls, tls, sizeof(tls));
		fprintf(f, "tls: %s\n", tls);
	} else {
		fprintf(f, "tls: none\n");
	}
}

static void check_json(FILE *f, const struct nbd_session *s,
		       const struct attach_params *p)
{
	const struct nbd_export *x = &s->export;
	int i, first = 1;

	fputs("{\"export\": ", f);
	report_json_string(f, x->name);
	fputs(", \"description\": ", f);
	if (x->description)
		report_json_string(f, x->description);
	else
		fputs("null", f);
	fprintf(f, ", \"size\": %llu, \"transmission_flags\": %u, \"flags\": [",
		(unsigned long long)x->size, x->tflags);
	for (i = 0; i < 16; i++) {
		if (!(x->tflags & (1u << i)) || !flag_names[i])
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ", ", flag_names[i]);
		first = 0;
	}
	fputs("], \"block_size\": ", f);
	if (x->have_block_size)
		fprintf(f, "{\"minimum\": %u, \"preferred\": %u, \"maximum\": %u}",
			x->min_block, x->pref_block, x->max_block);
	else
		fputs("null", f);
	if (p && p->max_request)
		fprintf(f, ", \"device\": {\"block_size\": %u, \"max_request\": %u}",
			p->block_size, p->max_request);
	else if (p)
		fprintf(f, ", \"device\": {\"block_size\": %u, \"max_request\": null}",
			p->block_size);
	fputs(", \"tls\": ", f);
	if (s->tls_active) {
		fputs("{\"version\": ", f);
		report_json_string(f, tls_version_name(s->conn.tls));
		fputs(", \"cipher\": ", f);
		report_json_string(f, tls_cipher_name(s->conn.tls));
		fputs("}", f);
	} else {
		fputs("null", f);
	}
	fputs("}\n", f);
}

void report_check(FILE *f, const struct nbd_session *s,
		  const struct attach_params *p, int json)
{
	if (json)
		check_json(f, s, p);
	else
		check_text(f, s, p);
}
