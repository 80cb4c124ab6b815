// SPDX-License-Identifier: GPL-2.0-or-later
/* A changed export on reconnect (export_reshape): which changes keep the
 * device, with what note, and which detach it, with what reason. */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "reshape.h"
#include "tap.h"

#define MiB (1ull << 20)
#define TF (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | \
	    NBD_FLAG_SEND_TRIM)

static const struct nbd_export was = {
	.size = 64 * MiB, .tflags = TF, .have_block_size = true,
	.min_block = 1, .pref_block = 4096, .max_block = 65536,
};
static const struct attach_params attached = {
	.size = 64 * MiB, .block_size = 512, .flags = TF,
	.max_request = 65536,
};

/* The device stays; r->max_request and the one note (or none) as given. */
static void kept(const struct nbd_export *now, unsigned int links,
		 uint32_t max, const char *want_note, const char *name)
{
	struct nbd_err e = { "(untouched)" };
	struct reshape r;

	memset(&r, 0xa5, sizeof(r));
	is_int(export_reshape(&was, &attached, links, now, &r, &e), 0,
	       "%s: kept", name);
	is_int(r.max_request, max, "%s: request limit %u", name, max);
	is_int(r.n, want_note ? 1 : 0, "%s: %d note(s)", name, want_note ? 1 : 0);
	if (want_note)
		is_str(r.notes[0], want_note, "%s: note", name);
	is_str(e.msg, "(untouched)", "%s: no error", name);
}

static void detached(const struct nbd_export *now, unsigned int links,
		     const char *why, const char *name)
{
	struct nbd_err e = { "(untouched)" };
	struct reshape r;

	is_int(export_reshape(&was, &attached, links, now, &r, &e), -1,
	       "%s: detached", name);
	is_str(e.msg, why, "%s: reason", name);
}

int main(void)
{
	struct nbd_export x = was;

	kept(&x, 1, 0, NULL, "the same export");

	x.size = 128 * MiB;
	kept(&x, 1, 0, "the export's size changed from 67108864 to 134217728 bytes; the device keeps its 67108864 until it is attached again",
	     "the export grew");
	x.size = 32 * MiB;
	detached(&x, 1, "the export shrank from 67108864 to 33554432 bytes, below the 67108864 attached",
		 "the export shrank");
	x = was;

	x.tflags |= NBD_FLAG_READ_ONLY;
	detached(&x, 1, "the export became read-only, and the device is read-write",
		 "read-only under a read-write device");
	x.tflags = TF & ~NBD_FLAG_SEND_FLUSH;
	detached(&x, 1, "the server no longer supports FLUSH, so writes could no longer be made durable",
		 "FLUSH lost");
	x.tflags = TF & ~NBD_FLAG_SEND_FUA;
	detached(&x, 1, "the server no longer supports FUA, so forced writes could no longer be made durable",
		 "FUA lost");
	x.tflags = TF & ~NBD_FLAG_SEND_TRIM;
	kept(&x, 1, 0, "the server no longer advertises SEND_TRIM; such requests will fail until the device is attached again",
	     "TRIM lost: nothing is lost, discards fail");
	x.tflags = TF | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE;
	kept(&x, 1, 0, "the server now also advertises SEND_WRITE_ZEROES SEND_CACHE; the device keeps its flags until it is attached again",
	     "new capabilities");
	x = was;

	{
		struct attach_params multi = attached;
		struct nbd_err e;
		struct reshape r;

		multi.flags |= NBD_FLAG_CAN_MULTI_CONN;
		is_int(export_reshape(&was, &multi, 2, &x, &r, &e), -1,
		       "multi-conn lost under 2 connections: detached");
		is_str(e.msg, "the server no longer allows multiple connections (NBD_FLAG_CAN_MULTI_CONN), and the device has 2",
		       "multi-conn lost under 2 connections: reason");
		is_int(export_reshape(&was, &multi, 1, &x, &r, &e), 0,
		       "multi-conn lost under 1 connection: kept");
	}

	x.min_block = 4096;
	detached(&x, 1, "the export's minimum block size is now 4096, above the device's logical block size 512",
		 "minimum block size above the device's");
	x.min_block = 512;
	kept(&x, 1, 0, NULL, "minimum block size 512, the device's");
	x = was;

	x.max_block = 16384;
	kept(&x, 1, 16384, NULL, "a smaller maximum payload");
	x.max_block = 1 << 20;
	kept(&x, 1, 0, NULL, "a larger maximum payload: the limit stays");
	x.max_block = 0xffffffff;
	kept(&x, 1, 0, NULL, "no maximum any more: the limit stays");
	x.max_block = 2048;
	detached(&x, 1, "the server's maximum payload 2048 is below the page size 4096, the smallest request size limit the kernel takes",
		 "a maximum payload below the page size");
	return tap_done();
}
