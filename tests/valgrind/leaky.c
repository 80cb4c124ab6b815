// SPDX-License-Identifier: GPL-2.0-or-later
/* check-valgrind's self-test: a definite leak and an uninitialised read,
 * which the wrapper must report (the stderr marker and exit status 99). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *p = malloc(64);
	int *u = malloc(sizeof(*u));

	(void)argv;
	if (!p || !u)
		return 1;
	strcpy(p, "leaked");
	if (*u == argc)	/* uninitialised */
		puts("?");
	p = NULL;
	free(u);
	fprintf(stderr, "nbd-client: leaky\n");
	return 1;
}
