// SPDX-License-Identifier: GPL-2.0-or-later
/* What the kernel is told about a negotiated export: see params.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optreply.h"
#include "params.h"
#include "proto.h"

static int block_size(const struct nbd_config *cfg, const struct nbd_export *x,
		      uint32_t *bs, struct nbd_err *e)
{
	uint32_t min = x->have_block_size ? x->min_block : 1;

	if (cfg->block_size) {
		*bs = cfg->block_size;
		if (*bs < min)
			return err_set(e, "-block-size %u is below the server's minimum block size %u",
				       *bs, min);
		return 0;
	}
	if (min > NBD_PAGE_SIZE)
		return err_set(e, "the server's minimum block size %u is larger than the page size %u, the largest block size the kernel takes",
			       min, NBD_PAGE_SIZE);
	*bs = min > 512 ? min : 512;
	return 0;
}

/* The spec's MUST: no request above the server's maximum payload.  The
 * kernel's limit is in whole KiB and at least a page. */
int attach_max_request(const struct nbd_export *x, uint32_t *max,
		       struct nbd_err *e)
{
	*max = 0;
	if (!x->have_block_size || x->max_block == 0xffffffff)
		return 0;
	if (x->max_block < NBD_PAGE_SIZE)
		return err_set(e, "the server's maximum payload %u is below the page size %u, the smallest request size limit the kernel takes",
			       x->max_block, NBD_PAGE_SIZE);
	*max = x->max_block & ~1023u;
	return 0;
}

int attach_params(const struct nbd_config *cfg, const struct nbd_export *x,
		  struct attach_params *p, struct nbd_err *e)
{
	uint32_t bs = 512;

	if (block_size(cfg, x, &bs, e) < 0 || attach_max_request(x, &p->max_request, e) < 0)
		return -1;
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

void attach_timeouts(const struct nbd_config *cfg, bool watched,
		     unsigned int *req, unsigned int *dead)
{
	*req = cfg->timeout ? cfg->timeout
	       : watched    ? NBD_PERSIST_REQ_TIMEOUT
			    : 0;
	*dead = cfg->dead_timeout ? cfg->dead_timeout
		: !watched	  ? 0
		: cfg->swap	  ? NBD_DEAD_TIMEOUT_NONE
				  : NBD_PERSIST_DEAD_TIMEOUT;
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
