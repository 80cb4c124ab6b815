/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memhog: the swap load of tests/vm/80-swap.t.
 *
 *   memhog MIB PASSES TAG
 *
 * Maps MIB MiB of anonymous memory (more than the guest has, so most of it
 * must go to swap) and makes PASSES passes over it, page by page.  Pass 1
 * writes every page; each later pass checks every word of a page, then
 * writes it again for the pass's generation, so each pass reads back what
 * swap kept and sends all of it out again.  The 8-byte word at byte P of
 * page I in pass G is (G << 48) + I * 4096 + P: a page that comes back
 * stale (an older pass), misplaced (another page) or zeroed shows which.
 *
 * After every MiB it prints, on stdout, unbuffered:
 *
 *	VM-PROGRESS TAG pass G mib M/MIB
 *
 * (and "VM-PROGRESS TAG check mib M/MIB" in the last check, which only
 * reads),
 * which run-vm.sh's stall watch (VM_STALL_S) takes as a sign of life, and
 * at the end "VM-PROGRESS-END TAG verified V pages in S s, longest MiB L s"
 * (V: pages checked word by word; L: the longest time one MiB took, the
 * longest the swap made no visible progress).  The first wrong word is printed as
 * "memhog: TAG pass G page I word W: read X, want Y" and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / 8)
#define PAGES_PER_MIB 256UL

static uint64_t want(uint64_t gen, size_t page, size_t word)
{
	return (gen << 48) + page * PAGE + word * 8;
}

static int check_page(const uint64_t *p, uint64_t gen, size_t page,
		      const char *tag)
{
	size_t w;

	for (w = 0; w < WORDS; w++) {
		if (p[w] == want(gen, page, w))
			continue;
		printf("memhog: %s pass %llu page %zu word %zu: read %#llx, want %#llx\n",
		       tag, (unsigned long long)gen + 1, page, w,
		       (unsigned long long)p[w],
		       (unsigned long long)want(gen, page, w));
		return -1;
	}
	return 0;
}

static void fill_page(uint64_t *p, uint64_t gen, size_t page)
{
	size_t w;

	for (w = 0; w < WORDS; w++)
		p[w] = want(gen, page, w);
}

struct progress {
	double t0, last, longest;	/* seconds */
};

static double now_s(void);

/* One MiB done: print it, and keep the longest time one MiB took. */
static void mib_done(struct progress *pr, const char *tag, const char *what,
		     size_t mib, unsigned long total)
{
	double t = now_s();

	if (t - pr->last > pr->longest)
		pr->longest = t - pr->last;
	pr->last = t;
	printf("VM-PROGRESS %s %s mib %zu/%lu\n", tag, what, mib, total);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long mib, passes, gen, verified = 0;
	size_t pages, i;
	uint64_t *mem;
	struct progress pr = { 0 };
	char what[32];

	if (argc != 4 || (mib = strtoul(argv[1], NULL, 10)) == 0 ||
	    (passes = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: memhog MIB PASSES TAG\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	pages = mib * PAGES_PER_MIB;
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		printf("memhog: %s: mmap %lu MiB: %s\n", argv[3], mib,
		       strerror(errno));
		return 1;
	}
	pr.t0 = pr.last = now_s();
	for (gen = 0; gen < passes; gen++) {
		snprintf(what, sizeof(what), "pass %lu", gen + 1);
		for (i = 0; i < pages; i++) {
			uint64_t *p = mem + i * WORDS;

			if (gen > 0) {
				if (check_page(p, gen - 1, i, argv[3]) < 0)
					return 1;
				verified++;
			}
			fill_page(p, gen, i);
			if ((i + 1) % PAGES_PER_MIB == 0)
				mib_done(&pr, argv[3], what,
					 (i + 1) / PAGES_PER_MIB, mib);
		}
	}
	for (i = 0; i < pages; i++) {
		if (check_page(mem + i * WORDS, passes - 1, i, argv[3]) < 0)
			return 1;
		verified++;
		if ((i + 1) % PAGES_PER_MIB == 0)
			mib_done(&pr, argv[3], "check", (i + 1) / PAGES_PER_MIB,
				 mib);
	}
	printf("VM-PROGRESS-END %s verified %lu pages in %.0f s, longest MiB %.1f s\n",
	       argv[3], verified, now_s() - pr.t0, pr.longest);
	return 0;
}
