// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Load the nbd (and, for kernel TLS, the tls) kernel module with libkmod:
 * what "modprobe nbd" does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libkmod.h>

#include "kernel.h"

struct module {
	const char *name;
	const char *config;	/* the kernel option that builds it */
};

static const struct module mod_nbd = { "nbd", "CONFIG_BLK_DEV_NBD" };
static const struct module mod_tls = { "tls", "CONFIG_TLS" };

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

static int kmod_error(struct nbd_err *e, const struct module *m, int errnum)
{
	struct utsname u;

	switch (errnum) {
	case EPERM:
	case EACCES:
		return err_set(e, "cannot load the %s kernel module: %s (are you root? or run modprobe %s)",
			       m->name, strerror(EPERM), m->name);
	case ENOENT:
		if (uname(&u) < 0)
			strcpy(u.release, "?");
		return err_set(e, "cannot load the %s kernel module: no %s module for kernel %s (kernel built without %s, or its modules are not installed)",
			       m->name, m->name, u.release, m->config);
	default:
		return err_set(e, "cannot load the %s kernel module: %s (see dmesg)",
			       m->name, strerror(errnum));
	}
}

static int load(const struct module *m, struct nbd_err *e)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	char sys[64];
	int rc;

	snprintf(sys, sizeof(sys), "/sys/module/%s", m->name);
	if (access(sys, F_OK) == 0)
		return 0;
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return err_set(e, "cannot load the %s kernel module: libkmod initialisation failed",
			       m->name);
	kmod_set_log_fn(ctx, kmod_quiet, NULL);
	rc = kmod_module_new_from_name(ctx, m->name, &mod);
	if (rc < 0) {
		kmod_error(e, m, -rc);
		goto out;
	}
	rc = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
	if (rc < 0)
		kmod_error(e, m, -rc);
	else if (rc > 0)
		rc = err_set(e, "cannot load the %s kernel module: refused by the module configuration (blacklisted?)",
			     m->name);
out:
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return rc < 0 ? -1 : 0;
}

int nbd_kmod_load(struct nbd_err *e)
{
	return load(&mod_nbd, e);
}

int nbd_kmod_load_tls(struct nbd_err *e)
{
	return load(&mod_tls, e);
}
