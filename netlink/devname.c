// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd device names: "/dev/nbd3" or "nbd3" -> 3.  Pure parsing, no kernel.
 */
#include <string.h>

#include "devname.h"

static int bad_name(struct nbd_err *e, const char *dev)
{
	return err_set(e, "invalid nbd device '%s' (expected /dev/nbdN or nbdN)",
		       dev);
}

/* Parse the decimal index after "nbd"; -1 if it is not a plain number. */
static int parse_index(const char *s, const char *dev, struct nbd_err *e)
{
	long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return bad_name(e, dev);
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return bad_name(e, dev);
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > NBD_MAX_INDEX)
			return err_set(e, "invalid nbd device '%s': index too large (at most %d)",
				       dev, NBD_MAX_INDEX);
	}
	if (*p == 'p' && p[1] >= '0' && p[1] <= '9')
		return err_set(e, "'%s' is a partition: give the whole device, /dev/nbd%ld",
			       dev, v);
	if (*p)
		return bad_name(e, dev);
	return (int)v;
}

int nbd_dev_index(const char *dev, struct nbd_err *e)
{
	const char *s;

	if (!dev || !*dev)
		return err_set(e, "no nbd device given (expected /dev/nbdN or nbdN)");
	s = nbd_dev_basename(dev);
	if (strncmp(s, "nbd", 3))
		return bad_name(e, dev);
	return parse_index(s + 3, dev, e);
}

const char *nbd_dev_basename(const char *dev)
{
	size_t n = strlen(NBD_DEV_DIR);

	return strncmp(dev, NBD_DEV_DIR, n) ? dev : dev + n;
}
