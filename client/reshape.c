// SPDX-License-Identifier: GPL-2.0-or-later
/* A changed export on reconnect: keep the device or detach it.  See
 * reshape.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "report.h"
#include "reshape.h"

static void __attribute__((format(printf, 2, 3)))
note(struct reshape *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n >= RESHAPE_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->n++], NBD_ERR_MAX, fmt, ap);
	va_end(ap);
}

static int check_size(const struct nbd_export *was,
		      const struct attach_params *p,
		      const struct nbd_export *now, struct reshape *r,
		      struct nbd_err *e)
{
	if (now->size < p->size)
		return err_set(e, "the export shrank from %llu to %llu bytes, below the %llu attached",
			       (unsigned long long)was->size,
			       (unsigned long long)now->size,
			       (unsigned long long)p->size);
	if (now->size != was->size)
		note(r, "the export's size changed from %llu to %llu bytes; the device keeps its %llu until it is attached again",
		     (unsigned long long)was->size,
		     (unsigned long long)now->size,
		     (unsigned long long)p->size);
	return 0;
}

/* A flag the device relies on that the server dropped. */
static int lost(uint16_t attached, uint16_t now, uint16_t flag)
{
	return (attached & flag) && !(now & flag);
}

static int check_flags(const struct nbd_export *was,
		       const struct attach_params *p, unsigned int links,
		       const struct nbd_export *now, struct reshape *r,
		       struct nbd_err *e)
{
	uint16_t dropped, added;
	char names[256];

	if ((now->tflags & NBD_FLAG_READ_ONLY) &&
	    !(p->flags & NBD_FLAG_READ_ONLY))
		return err_set(e, "the export became read-only, and the device is read-write");
	if (lost(p->flags, now->tflags, NBD_FLAG_SEND_FLUSH))
		return err_set(e, "the server no longer supports FLUSH, so writes could no longer be made durable");
	if (lost(p->flags, now->tflags, NBD_FLAG_SEND_FUA))
		return err_set(e, "the server no longer supports FUA, so forced writes could no longer be made durable");
	if (links > 1 && lost(p->flags, now->tflags, NBD_FLAG_CAN_MULTI_CONN))
		return err_set(e, "the server no longer allows multiple connections (NBD_FLAG_CAN_MULTI_CONN), and the device has %u",
			       links);
	dropped = was->tflags & ~now->tflags & ~NBD_FLAG_READ_ONLY;
	added = now->tflags & ~was->tflags & ~NBD_FLAG_READ_ONLY;
	if (dropped) {
		report_flag_names(names, sizeof(names), dropped);
		note(r, "the server no longer advertises %s; such requests will fail until the device is attached again",
		     names);
	}
	if (added) {
		report_flag_names(names, sizeof(names), added);
		note(r, "the server now also advertises %s; the device keeps its flags until it is attached again",
		     names);
	}
	if ((was->tflags & NBD_FLAG_READ_ONLY) &&
	    !(now->tflags & NBD_FLAG_READ_ONLY))
		note(r, "the export is no longer read-only; the device stays as it was attached");
	return 0;
}

static int check_blocks(const struct attach_params *p,
			const struct nbd_export *now, struct reshape *r,
			struct nbd_err *e)
{
	uint32_t max;

	if (now->have_block_size && now->min_block > p->block_size)
		return err_set(e, "the export's minimum block size is now %u, above the device's logical block size %u",
			       now->min_block, p->block_size);
	if (attach_max_request(now, &max, e) < 0)
		return -1;
	if (max && (!p->max_request || max < p->max_request))
		r->max_request = max;	/* the device says so once applied */
	return 0;
}

int export_reshape(const struct nbd_export *was,
		   const struct attach_params *p, unsigned int links,
		   const struct nbd_export *now, struct reshape *r,
		   struct nbd_err *e)
{
	memset(r, 0, sizeof(*r));
	if (check_size(was, p, now, r, e) < 0 ||
	    check_flags(was, p, links, now, r, e) < 0 ||
	    check_blocks(p, now, r, e) < 0)
		return -1;
	return 0;
}
