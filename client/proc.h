/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Another process by its pid, without mistaking a later process that got
 * the same pid for it: a pid and its start time (/proc/PID/stat, clock
 * ticks after boot) name one process for the life of the system.
 */
#ifndef NBDC_PROC_H
#define NBDC_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* pid's start time into *start.  0, or -1 (errno: ESRCH when there is no
 * such process; a zombie is none). */
int proc_start_time(pid_t pid, unsigned long long *start);
/* pid is the process that started at start and has not exited. */
bool proc_alive(pid_t pid, unsigned long long start);

#endif
