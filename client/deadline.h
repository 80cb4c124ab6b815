/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deadlines on the monotonic clock.  A timeout restarted on every poll()
 * lets a server that drips one byte at a time keep the client forever; a
 * deadline bounds the whole operation, however the bytes arrive.
 */
#ifndef NBDC_DEADLINE_H
#define NBDC_DEADLINE_H

#include <stdint.h>

struct deadline {
	int64_t end_ms;		/* CLOCK_MONOTONIC milliseconds */
};

#define DEADLINE_NONE ((struct deadline){ INT64_MAX })

int64_t mono_ms(void);
/* ms from now; a negative ms means no deadline. */
struct deadline deadline_in(int64_t ms);
struct deadline deadline_min(struct deadline a, struct deadline b);
/* What poll() takes: -1 for no deadline, 0 once passed, else the ms left
 * (at most INT_MAX). */
int deadline_left_ms(struct deadline d);

#endif
