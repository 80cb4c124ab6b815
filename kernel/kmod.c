// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Load the nbd kernel module with libkmod (what "modprobe nbd" does).
 */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libkmod.h>

#include "kernel.h"

#define KMOD_WHAT "cannot load the nbd kernel module"

/* libkmod logs to stderr by default; library code must not print. */
static void kmod_quiet(void *data, int priority, const char *file, int line,
		       const char *fn, const char *format, va_list args)
{
	(void)data;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
}

static int kmod_error(struct nbd_err *e, int errnum)
{
	struct utsname u;

	switch (errnum) {
	case EPERM:
	case EACCES:
		return err_set(e, KMOD_WHAT ": %s (are you root? or run modprobe nbd)",
			       strerror(EPERM));
	case ENOENT:
		if (uname(&u) < 0)
			strcpy(u.release, "?");
		return err_set(e, KMOD_WHAT ": no nbd module for kernel %s (kernel built without CONFIG_BLK_DEV_NBD, or its modules are not installed)",
			       u.release);
	default:
		return err_set(e, KMOD_WHAT ": %s (see dmesg)",
			       strerror(errnum));
	}
}

int nbd_kmod_load(struct nbd_err *e)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int rc;

	if (access("/sys/module/nbd", F_OK) == 0)
		return 0;
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return err_set(e, KMOD_WHAT ": libkmod initialisation failed");
	kmod_set_log_fn(ctx, kmod_quiet, NULL);
	rc = kmod_module_new_from_name(ctx, "nbd", &mod);
	if (rc < 0) {
		kmod_error(e, -rc);
		goto out;
	}
	rc = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
	if (rc < 0)
		kmod_error(e, -rc);
	else if (rc > 0)
		rc = err_set(e, KMOD_WHAT ": refused by the module configuration (blacklisted?)");
out:
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return rc < 0 ? -1 : 0;
}
