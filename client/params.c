// SPDX-License-Identifier: GPL-2.0-or-later
/* What the kernel is told about a negotiated export: see params.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optreply.h"
#include "params.h"
#include "proto.h"

int attach_params(const struct nbd_config *cfg, const struct nbd_export *x,
		  struct attach_params *p, struct nbd_err *e)
{
	uint32_t bs = 512;

	if (cfg->block_size) {
		bs = cfg->block_size;
		if (x->have_block_size && bs < x->min_block)
			return err_set(e, "-block-size %u is below the server's minimum block size %u",
				       bs, x->min_block);
	} else if (x->have_block_size) {
		/* the kernel takes powers of two from 512 to the page size */
		bs = x->pref_block < 512 ? 512 : x->pref_block;
		if (bs > 4096)
			bs = x->min_block > 4096 ? x->min_block : 4096;
		if (bs > 4096)
			return err_set(e, "the server's minimum block size %u is larger than the kernel's 4096",
				       x->min_block);
	}
	p->block_size = bs;
	p->size = cfg->size ? cfg->size : x->size;
	if (cfg->size && cfg->size > x->size)
		return err_set(e, "-size %llu is larger than the export (%llu bytes)",
			       (unsigned long long)cfg->size,
			       (unsigned long long)x->size);
	if (p->size % bs)
		return err_set(e, "the size %llu is not a multiple of the block size %u; pass -size or -block-size",
			       (unsigned long long)p->size, bs);
	p->flags = x->tflags | (cfg->readonly ? NBD_FLAG_READ_ONLY : 0);
	return 0;
}

char *attach_identifier(const struct nbd_config *cfg)
{
	const char *s = cfg->tls.enabled ? "s" : "";
	const char *x = cfg->export_name ? cfg->export_name : "";
	const char *h = cfg->host ? cfg->host : "";
	char *id;
	int r;

	if (cfg->identifier)
		return strdup(cfg->identifier);
	if (cfg->unix_path)
		r = asprintf(&id, "nbd%s+unix:///%s?socket=%s", s, x,
			     cfg->unix_path);
	else
		r = asprintf(&id, strchr(h, ':') ? "nbd%s://[%s]:%s/%s"
						 : "nbd%s://%s:%s/%s",
			     s, h, cfg->port ? cfg->port : NBD_DEFAULT_PORT, x);
	return r < 0 ? NULL : id;
}
