/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's memory reserves for swap over the network (-swap).
 *
 * Writing out swap takes memory: the nbd driver copies every page it
 * sends into its socket's buffers, and the server's reply comes in
 * through the network's receive buffers.  Under memory pressure both are
 * taken from the reserves kept below the min watermark (the nbd socket is
 * SOCK_MEMALLOC; receive buffers are atomic allocations), which
 * vm.min_free_kbytes sizes.  When free memory falls to half of that, the
 * kernel stops every task that reclaims memory until kswapd has brought
 * it back (vmstat pgscan_direct_throttle), and kswapd's own swap writes
 * then wait on the same exhausted reserves.  The default size is
 * sqrt(16 * lowmem) KiB: 1737 KiB in a 256 MiB machine, where one swap
 * socket alone held up to 1.4 MiB (sockstat), and the whole machine froze
 * for up to 77 s, its swap written 8 KiB per round trip.  The nbd
 * driver's own commit that marks its sockets (Mel Gorman, "nbd: Set
 * SOCK_MEMALLOC for access to PFMEMALLOC reserves") names raising
 * min_free_kbytes as the remedy when these reserves run out.
 *
 * So -swap raises vm.min_free_kbytes, never lowers it, to a floor: 4 MiB
 * (tcp_wmem's default largest send buffer) for each connection and 4 MiB
 * for the receive side and everything else, but at most a sixteenth of
 * the memory.
 */
#ifndef NBDC_RESERVE_H
#define NBDC_RESERVE_H

#include "err.h"

#define SWAP_RESERVE_PER_LINK_KB 4096UL

struct swap_reserve {
	unsigned long from_kb; /* vm.min_free_kbytes found */
	unsigned long to_kb;   /* what it was raised to; 0: left as it was */
};

/* The floor for a machine with memtotal_kb (MemTotal) and links
 * connections. */
unsigned long swap_reserve_floor_kb(unsigned long memtotal_kb,
				    unsigned int links);

/*
 * Raise vm.min_free_kbytes to the floor where it is lower, reading
 * PROC/meminfo and PROC/sys/vm/min_free_kbytes (proc is "/proc" but in
 * tests).  0 with *r filled, or -1 with e set.
 */
int swap_reserve_raise(const char *proc, unsigned int links,
		       struct swap_reserve *r, struct nbd_err *e);

#endif
