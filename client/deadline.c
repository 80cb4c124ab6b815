// SPDX-License-Identifier: GPL-2.0-or-later
#include <limits.h>
#include <time.h>

#include "deadline.h"

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct deadline deadline_in(int64_t ms)
{
	struct deadline d = DEADLINE_NONE;

	if (ms >= 0 && ms < INT64_MAX / 2)
		d.end_ms = mono_ms() + ms;
	return d;
}

struct deadline deadline_min(struct deadline a, struct deadline b)
{
	return a.end_ms <= b.end_ms ? a : b;
}

int deadline_left_ms(struct deadline d)
{
	int64_t left;

	if (d.end_ms == INT64_MAX)
		return -1;
	left = d.end_ms - mono_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}
