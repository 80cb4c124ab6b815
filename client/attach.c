// SPDX-License-Identifier: GPL-2.0-or-later
#include "attach.h"

int attach_run(const struct nbd_config *cfg, struct nbd_err *e)
{
	(void)cfg;
	return err_set(e, "attaching to the kernel is not implemented yet");
}

int attach_disconnect(const struct nbd_config *cfg, struct nbd_err *e)
{
	(void)cfg;
	return err_set(e, "not implemented yet");
}

int attach_status(const struct nbd_config *cfg, struct nbd_err *e)
{
	(void)cfg;
	return err_set(e, "not implemented yet");
}

int attach_list_devices(bool json, struct nbd_err *e)
{
	(void)json;
	return err_set(e, "not implemented yet");
}
