/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The attach's command line, kept in NBD_STATE_DIR/nbdN.args for a later
 * process that adopts the device (--adopt): it parses them with the same
 * command-line and nbdtab code, so it reconnects exactly as the attach
 * would have.  The file holds the working directory and then each
 * argument after argv[0], every one ended by a NUL; mode 0600.  No secret
 * is in it: nbd-client takes keys only from files, whose paths are kept
 * and read again by the adopter.
 */
#ifndef NBDC_ARGSFILE_H
#define NBDC_ARGSFILE_H

#define ARGSFILE_MAX (64 * 1024)

struct argsfile {
	char *buf;		/* the file: cwd, then the arguments */
	const char *cwd;	/* where relative paths were given */
	char **argv;		/* argv[0] "nbd-client", then the arguments,
				 * NULL-terminated: ready for cli_parse */
	int argc;
};

/* dirfd/NAME.args := cwd and argv[1...] (argv NULL-terminated).  0, or -1
 * (errno). */
int argsfile_write(int dirfd, const char *name, const char *cwd,
		   char *const *argv);
/* Read dirfd/NAME.args.  0, or -1 (errno; EINVAL: malformed, EFBIG: over
 * ARGSFILE_MAX). */
int argsfile_read(int dirfd, const char *name, struct argsfile *a);
void argsfile_free(struct argsfile *a);

#endif
