/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nbd device names.  Pure parsing: the CLI and nbdtab use it without
 * pulling in the kernel interface (kernel.h).
 */
#ifndef NBDC_DEVNAME_H
#define NBDC_DEVNAME_H

#include "err.h"

/* Largest index the kernel can ever accept (MINORMASK with max_part=0). */
#define NBD_MAX_INDEX ((1 << 20) - 1)
/* What precedes "nbdN" in a device path. */
#define NBD_DEV_DIR "/dev/"

/* "/dev/nbd3" or "nbd3" -> 3.  -1 with e set for anything else. */
int nbd_dev_index(const char *dev, struct nbd_err *e);
/* "/dev/nbd3" -> "nbd3"; anything without the directory is returned as is. */
const char *nbd_dev_basename(const char *dev);

#endif
