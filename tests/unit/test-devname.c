// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel attach layer without a kernel nbd driver: device names, error
 * texts, netlink request building and reply parsing, and the request/ACK
 * machinery against the kernel's own "nlctrl" family.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/nbd-netlink.h>
#include <linux/nbd.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "kernel.h"
#include "tap.h"

#define FAM 0x1234

static void skip(const char *why)
{
	tap_n++;
	printf("ok %d # skip %s\n", tap_n, why);
}

/* ---- device names ---- */

static void name_ok(const char *dev, int want)
{
	struct nbd_err e = { "" };

	is_int(nbd_dev_index(dev, &e), want, "nbd_dev_index(\"%s\") = %d", dev,
	       want);
	is_str(e.msg, "", "  and no error");
}

static void name_bad(const char *dev, const char *msg)
{
	struct nbd_err e = { "" };

	is_int(nbd_dev_index(dev, &e), -1, "nbd_dev_index(\"%s\") fails",
	       dev ? dev : "(null)");
	is_str(e.msg, msg, "  with the right message");
}

#define BAD(d) "invalid nbd device '" d "' (expected /dev/nbdN or nbdN)"

static void test_names(void)
{
	name_ok("/dev/nbd0", 0);
	name_ok("nbd0", 0);
	name_ok("/dev/nbd3", 3);
	name_ok("nbd3", 3);
	name_ok("/dev/nbd15", 15);
	name_ok("nbd1048575", NBD_MAX_INDEX);

	name_bad(NULL, "no nbd device given (expected /dev/nbdN or nbdN)");
	name_bad("", "no nbd device given (expected /dev/nbdN or nbdN)");
	name_bad("/dev/nbd", BAD("/dev/nbd"));
	name_bad("nbd", BAD("nbd"));
	name_bad("/dev/sda", BAD("/dev/sda"));
	name_bad("sda1", BAD("sda1"));
	name_bad("nbdx", BAD("nbdx"));
	name_bad("nbd-1", BAD("nbd-1"));
	name_bad("nbd+1", BAD("nbd+1"));
	name_bad("nbd 1", BAD("nbd 1"));
	name_bad("nbd01", BAD("nbd01"));
	name_bad("nbd00", BAD("nbd00"));
	name_bad("/dev/nbd3 ", BAD("/dev/nbd3 "));
	name_bad("/dev/nbd3x", BAD("/dev/nbd3x"));
	name_bad("dev/nbd3", BAD("dev/nbd3"));
	name_bad("/dev//nbd3", BAD("/dev//nbd3"));
	name_bad("/dev/block/nbd3", BAD("/dev/block/nbd3"));
	name_bad("/dev/NBD3", BAD("/dev/NBD3"));
	name_bad("/dev/nbd3p", BAD("/dev/nbd3p"));
	name_bad("/dev/nbd0p1",
		 "'/dev/nbd0p1' is a partition: give the whole device, /dev/nbd0");
	name_bad("nbd12p3",
		 "'nbd12p3' is a partition: give the whole device, /dev/nbd12");
	name_bad("nbd1048576",
		 "invalid nbd device 'nbd1048576': index too large (at most 1048575)");
	name_bad("/dev/nbd99999999999999999999999",
		 "invalid nbd device '/dev/nbd99999999999999999999999': index too large (at most 1048575)");
	is_int(nbd_dev_index("nbd7", NULL), 7, "a NULL nbd_err is fine");
	is_int(nbd_dev_index("bogus", NULL), -1, "  also when failing");
}

/* ---- error texts ---- */

static void test_kernel_errors(void)
{
	struct nbd_err e;

	nbd_kernel_error(&e, EPERM, "cannot connect /dev/nbd3", 3);
	is_str(e.msg, "cannot connect /dev/nbd3: Operation not permitted (are you root?)",
	       "EPERM");
	nbd_kernel_error(&e, EACCES, "cannot connect /dev/nbd3", 3);
	is_str(e.msg, "cannot connect /dev/nbd3: Operation not permitted (are you root?)",
	       "EACCES reads as EPERM");
	nbd_kernel_error(&e, EBUSY, "cannot connect /dev/nbd3", 3);
	is_str(e.msg, "/dev/nbd3 is busy (already connected? try nbd-client -d /dev/nbd3)",
	       "EBUSY with an index");
	nbd_kernel_error(&e, EBUSY, "cannot disconnect /dev/nbd3", -1);
	is_str(e.msg, "cannot disconnect /dev/nbd3: Device or resource busy (see dmesg)",
	       "EBUSY without an index");
	is_int(nbd_kernel_error(&e, EINVAL, "cannot connect an nbd device", -1),
	       -1, "returns -1");
	is_str(e.msg, "cannot connect an nbd device: Invalid argument (see dmesg)",
	       "generic errno");
}

/* ---- building requests ---- */

/* The kernel's policy (drivers/block/nbd.c), plus exact lengths. */
static struct nla_policy req_policy[NBD_ATTR_MAX + 1] = {
	[NBD_ATTR_INDEX]		= { .type = NLA_U32 },
	[NBD_ATTR_SIZE_BYTES]		= { .type = NLA_U64 },
	[NBD_ATTR_BLOCK_SIZE_BYTES]	= { .type = NLA_U64 },
	[NBD_ATTR_TIMEOUT]		= { .type = NLA_U64 },
	[NBD_ATTR_SERVER_FLAGS]		= { .type = NLA_U64 },
	[NBD_ATTR_CLIENT_FLAGS]		= { .type = NLA_U64 },
	[NBD_ATTR_SOCKETS]		= { .type = NLA_NESTED },
	[NBD_ATTR_DEAD_CONN_TIMEOUT]	= { .type = NLA_U64 },
	[NBD_ATTR_DEVICE_LIST]		= { .type = NLA_NESTED },
	[NBD_ATTR_BACKEND_IDENTIFIER]	= { .type = NLA_STRING },
};

static struct nla_policy sock_policy[NBD_SOCK_MAX + 1] = {
	[NBD_SOCK_FD] = { .type = NLA_U32 },
};

static int parse_req(struct nl_msg *msg, uint8_t cmd, struct nlattr **tb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);

	is_int(nlh->nlmsg_type, FAM, "  message type is the family id");
	ok(nlh->nlmsg_flags & NLM_F_ACK, "  NLM_F_ACK requested");
	is_int(gh->cmd, cmd, "  genl command %u", cmd);
	is_int(gh->version, NBD_GENL_VERSION, "  genl version");
	return genlmsg_parse(nlh, 0, tb, NBD_ATTR_MAX, req_policy);
}

static void is_u64(struct nlattr *a, uint64_t want, const char *name)
{
	ok(a && nla_len(a) == 8 && nla_get_u64(a) == want,
	   "  %s is a u64 = %llu", name, (unsigned long long)want);
}

static void is_u32(struct nlattr *a, uint32_t want, const char *name)
{
	ok(a && nla_len(a) == 4 && nla_get_u32(a) == want,
	   "  %s is a u32 = %u", name, want);
}

/* The fds inside NBD_ATTR_SOCKETS, in order; -1 if malformed. */
static int sock_fds(struct nlattr *list, int *fds, int max)
{
	struct nlattr *sb[NBD_SOCK_MAX + 1];
	struct nlattr *item;
	int rem, n = 0;

	if (!list)
		return -1;
	nla_for_each_nested(item, list, rem) {
		if (nla_type(item) != NBD_SOCK_ITEM || n >= max)
			return -1;
		if (nla_parse_nested(sb, NBD_SOCK_MAX, item, sock_policy) < 0 ||
		    !sb[NBD_SOCK_FD] || nla_len(sb[NBD_SOCK_FD]) != 4)
			return -1;
		fds[n++] = (int)nla_get_u32(sb[NBD_SOCK_FD]);
	}
	return n;
}

static void test_msg_connect_full(void)
{
	static const int fds[] = { 5, 6, 9 };
	struct nbd_attach a = {
		.index = 5, .size = 10737418240ULL, .block_size = 4096,
		.server_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY,
		.client_flags = NBD_CFLAG_DISCONNECT_ON_CLOSE,
		.timeout = 30, .dead_timeout = 60,
		.fds = fds, .nfds = 3, .identifier = "host:10809/export",
	};
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nbd_err e = { "" };
	struct nl_msg *msg = NULL;
	int got[8];

	is_int(nbd_nl_msg_connect(FAM, &a, &msg, &e), 0, "CONNECT, everything set");
	if (!msg)
		return;
	is_int(parse_req(msg, NBD_CMD_CONNECT, tb), 0, "  parses");
	is_u32(tb[NBD_ATTR_INDEX], 5, "INDEX");
	is_u64(tb[NBD_ATTR_SIZE_BYTES], 10737418240ULL, "SIZE_BYTES");
	is_u64(tb[NBD_ATTR_BLOCK_SIZE_BYTES], 4096, "BLOCK_SIZE_BYTES");
	is_u64(tb[NBD_ATTR_SERVER_FLAGS], 3, "SERVER_FLAGS");
	is_u64(tb[NBD_ATTR_CLIENT_FLAGS], NBD_CFLAG_DISCONNECT_ON_CLOSE,
	       "CLIENT_FLAGS");
	is_u64(tb[NBD_ATTR_TIMEOUT], 30, "TIMEOUT");
	is_u64(tb[NBD_ATTR_DEAD_CONN_TIMEOUT], 60, "DEAD_CONN_TIMEOUT");
	ok(tb[NBD_ATTR_BACKEND_IDENTIFIER] &&
	   !nla_strcmp(tb[NBD_ATTR_BACKEND_IDENTIFIER], "host:10809/export"),
	   "  BACKEND_IDENTIFIER");
	ok(tb[NBD_ATTR_BACKEND_IDENTIFIER] &&
	   nla_len(tb[NBD_ATTR_BACKEND_IDENTIFIER]) == 18,
	   "  BACKEND_IDENTIFIER is NUL-terminated");
	is_int(sock_fds(tb[NBD_ATTR_SOCKETS], got, 8), 3, "  three SOCK_ITEMs");
	ok(got[0] == 5 && got[1] == 6 && got[2] == 9, "  with the fds in order");
	ok(!tb[NBD_ATTR_DEVICE_LIST], "  no DEVICE_LIST");
	nlmsg_free(msg);
}

static void test_msg_connect_minimal(void)
{
	static const int fd = 7;
	struct nbd_attach a = {
		.index = -1, .size = 1048576, .fds = &fd, .nfds = 1,
		.identifier = "",
	};
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nbd_err e = { "" };
	struct nl_msg *msg = NULL;
	int got[2];

	is_int(nbd_nl_msg_connect(FAM, &a, &msg, &e), 0, "CONNECT, defaults");
	if (!msg)
		return;
	is_int(parse_req(msg, NBD_CMD_CONNECT, tb), 0, "  parses");
	ok(!tb[NBD_ATTR_INDEX], "  no INDEX: the kernel picks a device");
	is_u64(tb[NBD_ATTR_SIZE_BYTES], 1048576, "SIZE_BYTES");
	ok(!tb[NBD_ATTR_BLOCK_SIZE_BYTES], "  no BLOCK_SIZE_BYTES");
	is_u64(tb[NBD_ATTR_SERVER_FLAGS], 0, "SERVER_FLAGS (always sent)");
	ok(!tb[NBD_ATTR_CLIENT_FLAGS], "  no CLIENT_FLAGS");
	ok(!tb[NBD_ATTR_TIMEOUT], "  no TIMEOUT");
	ok(!tb[NBD_ATTR_DEAD_CONN_TIMEOUT], "  no DEAD_CONN_TIMEOUT");
	ok(!tb[NBD_ATTR_BACKEND_IDENTIFIER], "  empty identifier not sent");
	is_int(sock_fds(tb[NBD_ATTR_SOCKETS], got, 2), 1, "  one SOCK_ITEM");
	is_int(got[0], 7, "  with fd 7");
	nlmsg_free(msg);
}

static void test_msg_connect_many(void)
{
	struct nbd_attach a = { .index = 0, .size = 4096, .nfds = 1000 };
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nbd_err e = { "" };
	struct nl_msg *msg = NULL;
	int *fds, *got;
	unsigned int i;

	fds = calloc(a.nfds, sizeof(*fds));
	got = calloc(a.nfds, sizeof(*got));
	for (i = 0; i < a.nfds; i++)
		fds[i] = (int)i + 3;
	a.fds = fds;
	is_int(nbd_nl_msg_connect(FAM, &a, &msg, &e), 0,
	       "CONNECT with 1000 sockets fits");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_CONNECT, tb), 0, "  parses");
		is_int(sock_fds(tb[NBD_ATTR_SOCKETS], got, (int)a.nfds), 1000,
		       "  1000 SOCK_ITEMs");
		is_int(got[999], 1002, "  the last one right");
		nlmsg_free(msg);
	}
	free(fds);
	free(got);
}

static void connect_bad(const struct nbd_attach *a, const char *msg,
			const char *name)
{
	struct nbd_err e = { "" };
	struct nl_msg *m = NULL;

	is_int(nbd_nl_msg_connect(FAM, a, &m, &e), -1, "CONNECT refused: %s",
	       name);
	is_str(e.msg, msg, "  message");
	ok(!m, "  no message built");
}

static void test_msg_connect_bad(void)
{
	static const int fds[] = { 4, -1 };
	struct nbd_attach a = { .index = 0, .size = 4096 };

	connect_bad(&a, "no socket to hand to the kernel", "no sockets");
	a.fds = fds;
	a.nfds = 2;
	connect_bad(&a, "invalid socket -1 to hand to the kernel", "bad fd");
	a.nfds = 1;
	a.index = -2;
	connect_bad(&a, "invalid nbd device index -2", "index -2");
	a.index = NBD_MAX_INDEX + 1;
	connect_bad(&a, "invalid nbd device index 1048576", "index too large");
}

static void test_msg_small(void)
{
	static const int fds[] = { 11, 12 };
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nbd_err e = { "" };
	struct nl_msg *msg = NULL;
	int got[4];

	is_int(nbd_nl_msg_disconnect(FAM, 4, &msg, &e), 0, "DISCONNECT");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_DISCONNECT, tb), 0, "  parses");
		is_u32(tb[NBD_ATTR_INDEX], 4, "INDEX");
		ok(!tb[NBD_ATTR_SOCKETS], "  nothing else");
		nlmsg_free(msg);
	}
	msg = NULL;
	is_int(nbd_nl_msg_disconnect(FAM, -1, &msg, &e), -1,
	       "DISCONNECT needs an index");
	is_str(e.msg, "invalid nbd device index -1", "  message");

	msg = NULL;
	is_int(nbd_nl_msg_reconfigure(FAM, 2, fds, 2, 0, 45, "id-1", &msg, &e),
	       0, "RECONFIGURE");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_RECONFIGURE, tb), 0, "  parses");
		is_u32(tb[NBD_ATTR_INDEX], 2, "INDEX");
		ok(!tb[NBD_ATTR_TIMEOUT], "  no TIMEOUT");
		is_u64(tb[NBD_ATTR_DEAD_CONN_TIMEOUT], 45, "DEAD_CONN_TIMEOUT");
		ok(tb[NBD_ATTR_BACKEND_IDENTIFIER] &&
		   !nla_strcmp(tb[NBD_ATTR_BACKEND_IDENTIFIER], "id-1"),
		   "  BACKEND_IDENTIFIER");
		is_int(sock_fds(tb[NBD_ATTR_SOCKETS], got, 4), 2,
		       "  two SOCK_ITEMs");
		ok(got[0] == 11 && got[1] == 12, "  with the fds");
		ok(!tb[NBD_ATTR_SIZE_BYTES], "  no SIZE_BYTES");
		nlmsg_free(msg);
	}
	msg = NULL;
	is_int(nbd_nl_msg_reconfigure(FAM, 2, NULL, 0, 10, 0, NULL, &msg, &e),
	       0, "RECONFIGURE, timeout only");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_RECONFIGURE, tb), 0, "  parses");
		is_u64(tb[NBD_ATTR_TIMEOUT], 10, "TIMEOUT");
		ok(!tb[NBD_ATTR_SOCKETS], "  no SOCKETS");
		nlmsg_free(msg);
	}

	msg = NULL;
	is_int(nbd_nl_msg_status(FAM, -1, &msg, &e), 0, "STATUS, all");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_STATUS, tb), 0, "  parses");
		ok(!tb[NBD_ATTR_INDEX], "  no INDEX");
		nlmsg_free(msg);
	}
	msg = NULL;
	is_int(nbd_nl_msg_status(FAM, 9, &msg, &e), 0, "STATUS, one");
	if (msg) {
		is_int(parse_req(msg, NBD_CMD_STATUS, tb), 0, "  parses");
		is_u32(tb[NBD_ATTR_INDEX], 9, "INDEX");
		nlmsg_free(msg);
	}
}

/* ---- parsing what the kernel sends ---- */

static struct nl_msg *kmsg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 0, FAM, 0, 0, cmd, NBD_GENL_VERSION);
	return msg;
}

static void put_dev(struct nl_msg *msg, uint32_t index, int connected)
{
	struct nlattr *item = nla_nest_start(msg, NBD_DEVICE_ITEM);

	nla_put_u32(msg, NBD_DEVICE_INDEX, index);
	if (connected >= 0)
		nla_put_u8(msg, NBD_DEVICE_CONNECTED, (uint8_t)connected);
	nla_nest_end(msg, item);
}

static void test_parse_connect(void)
{
	struct nbd_err e = { "" };
	struct nl_msg *msg;
	int index = -1;

	msg = kmsg(NBD_CMD_CONNECT);
	nla_put_u32(msg, NBD_ATTR_INDEX, 7);
	is_int(nbd_nl_parse_connect_reply(msg, &index, &e), 0, "CONNECT reply");
	is_int(index, 7, "  index 7");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_CONNECT);
	is_int(nbd_nl_parse_connect_reply(msg, &index, &e), -1,
	       "CONNECT reply without INDEX");
	is_str(e.msg, "malformed CONNECT reply from the kernel (no device index)",
	       "  message");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_STATUS);
	nla_put_u32(msg, NBD_ATTR_INDEX, 7);
	is_int(nbd_nl_parse_connect_reply(msg, &index, &e), -1,
	       "a reply for another command is refused");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_CONNECT);
	nla_put_u16(msg, NBD_ATTR_INDEX, 7);
	is_int(nbd_nl_parse_connect_reply(msg, &index, &e), -1,
	       "a short INDEX is refused");
	nlmsg_free(msg);
}

static void test_parse_status(void)
{
	struct nbd_dev_status st[4];
	struct nbd_err e = { "" };
	struct nlattr *list;
	struct nl_msg *msg;
	size_t n = 99;

	msg = kmsg(NBD_CMD_STATUS);
	list = nla_nest_start(msg, NBD_ATTR_DEVICE_LIST);
	put_dev(msg, 0, 1);
	put_dev(msg, 1, 0);
	put_dev(msg, 12, 1);
	put_dev(msg, 3, -1);
	nla_nest_end(msg, list);
	is_int(nbd_nl_parse_status_reply(msg, st, 4, &n, &e), 0, "STATUS reply");
	is_int(n, 4, "  four devices");
	ok(st[0].index == 0 && st[0].connected, "  nbd0 connected");
	ok(st[1].index == 1 && !st[1].connected, "  nbd1 not connected");
	ok(st[2].index == 12 && st[2].connected, "  nbd12 connected");
	ok(st[3].index == 3 && !st[3].connected,
	   "  nbd3 without CONNECTED reads as not connected");
	is_int(nbd_nl_parse_status_reply(msg, st, 2, &n, &e), 0,
	       "STATUS reply into a short array");
	is_int(n, 2, "  stops at max");
	is_int(nbd_nl_parse_status_reply(msg, NULL, 0, &n, &e), 0,
	       "STATUS reply into nothing");
	is_int(n, 0, "  zero entries");
	nlmsg_free(msg);

	/* libnl drops empty nests; the kernel sends them. */
	msg = kmsg(NBD_CMD_STATUS);
	nla_put(msg, NBD_ATTR_DEVICE_LIST, 0, NULL);
	n = 99;
	is_int(nbd_nl_parse_status_reply(msg, st, 4, &n, &e), 0,
	       "STATUS reply, empty list (no such device)");
	is_int(n, 0, "  zero entries");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_STATUS);
	n = 99;
	is_int(nbd_nl_parse_status_reply(msg, st, 4, &n, &e), 0,
	       "STATUS reply without a list");
	is_int(n, 0, "  zero entries");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_CONNECT);
	is_int(nbd_nl_parse_status_reply(msg, st, 4, &n, &e), -1,
	       "a reply for another command");
	is_str(e.msg, "malformed STATUS reply from the kernel", "  message");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_STATUS);
	list = nla_nest_start(msg, NBD_ATTR_DEVICE_LIST);
	put_dev(msg, 0, 1);
	{
		struct nlattr *item = nla_nest_start(msg, NBD_DEVICE_ITEM);

		nla_put_u8(msg, NBD_DEVICE_CONNECTED, 1);
		nla_nest_end(msg, item);
	}
	nla_nest_end(msg, list);
	is_int(nbd_nl_parse_status_reply(msg, st, 4, &n, &e), -1,
	       "STATUS reply with an item without index");
	is_str(e.msg, "malformed STATUS reply from the kernel (bad device entry)",
	       "  message");
	nlmsg_free(msg);
}

static void test_parse_link_dead(void)
{
	struct nl_msg *msg;
	int index = -1;

	msg = kmsg(NBD_CMD_LINK_DEAD);
	nla_put_u32(msg, NBD_ATTR_INDEX, 4);
	is_int(nbd_nl_parse_link_dead(msg, &index), 1, "LINK_DEAD recognised");
	is_int(index, 4, "  for nbd4");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_STATUS);
	nla_put_u32(msg, NBD_ATTR_INDEX, 4);
	is_int(nbd_nl_parse_link_dead(msg, &index), 0, "STATUS is not LINK_DEAD");
	nlmsg_free(msg);

	msg = kmsg(NBD_CMD_LINK_DEAD);
	is_int(nbd_nl_parse_link_dead(msg, &index), 0,
	       "LINK_DEAD without an index is ignored");
	nlmsg_free(msg);
}

/* ---- the request/ACK machinery, against nlctrl ---- */

static struct nl_msg *getfamily(const char *name)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, NLM_F_ACK,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name);
	return msg;
}

static int family_cb(struct nl_msg *msg, void *arg, struct nbd_err *e)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	int *id = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_ID])
		return err_set(e, "no family id");
	*id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

static int failing_cb(struct nl_msg *msg, void *arg, struct nbd_err *e)
{
	(void)msg;
	(void)arg;
	return err_set(e, "parser said no");
}

static void test_transact(struct nbd_nl *nl)
{
	struct nbd_err e = { "" };
	int id = -1, kerr = -1;

	is_int(nbd_nl_transact(nl, getfamily("nlctrl"), family_cb, &id, &kerr,
			       &e), 0, "request, reply and ACK");
	is_int(id, GENL_ID_CTRL, "  reply parsed");
	is_int(kerr, 0, "  no kernel error");

	kerr = -1;
	is_int(nbd_nl_transact(nl, getfamily("nbdc-nofam"),
			       family_cb, &id, &kerr, &e), -1,
	       "kernel error");
	is_int(kerr, ENOENT, "  the kernel's errno, not libnl's code");
	is_str(e.msg, "", "  e untouched");

	is_int(nbd_nl_transact(nl, getfamily("nlctrl"), NULL, NULL, &kerr, &e),
	       0, "a reply nobody asked for is skipped");

	is_int(nbd_nl_transact(nl, getfamily("nlctrl"), failing_cb, NULL,
			       &kerr, &e), -1, "parser failure");
	is_int(kerr, 0, "  no kernel errno");
	is_str(e.msg, "parser said no", "  the parser's message");

	id = -1;
	is_int(nbd_nl_transact(nl, getfamily("nlctrl"), family_cb, &id, &kerr,
			       &e), 0, "the socket is still in step afterwards");
	is_int(id, GENL_ID_CTRL, "  reply parsed");
}

/* nbd commands sent to nlctrl: unknown commands there, EOPNOTSUPP. */
static void test_commands_errors(struct nbd_nl *nl)
{
	static const int fd = 0;
	struct nbd_attach a = { .index = 2, .size = 4096, .fds = &fd, .nfds = 1 };
	struct nbd_dev_status st[2];
	struct nbd_err e = { "" };
	int index = -1;
	size_t n = 5;

	is_int(nbd_nl_status(nl, -1, st, 2, &n, &e), -1,
	       "STATUS to the wrong family fails");
	is_str(e.msg, "cannot query the nbd devices: Operation not supported (see dmesg)",
	       "  message");
	is_int(n, 0, "  n_out is 0");
	is_int(nbd_nl_disconnect(nl, 3, &e), -1, "DISCONNECT fails");
	is_str(e.msg, "cannot disconnect /dev/nbd3: Operation not supported (see dmesg)",
	       "  message");
	is_int(nbd_nl_connect(nl, &a, &index, &e), -1, "CONNECT fails");
	is_str(e.msg, "cannot connect /dev/nbd2: Operation not supported (see dmesg)",
	       "  message");
	is_int(index, -1, "  index untouched");
	a.index = -1;
	nbd_nl_connect(nl, &a, &index, &e);
	is_str(e.msg, "cannot connect an nbd device: Operation not supported (see dmesg)",
	       "  message without an index");
	a.nfds = 0;
	is_int(nbd_nl_connect(nl, &a, &index, &e), -1, "CONNECT without sockets");
	is_str(e.msg, "no socket to hand to the kernel", "  refused locally");

	is_int(nbd_nl_fd(nl), -1, "no event fd before subscribing");
	is_int(nbd_nl_recv_link_dead(nl, &index, &e), -1,
	       "no events before subscribing");
	is_str(e.msg, "not subscribed to nbd netlink events", "  message");
}

static void test_netlink(void)
{
	struct nbd_err e = { "" };
	struct nbd_nl *nl = NULL;
	int rc;

	rc = nbd_nl_open_family(&nl, "nlctrl", &e);
	if (rc < 0) {
		printf("# %s\n", e.msg);
		skip("no generic netlink here");
		return;
	}
	is_int(nbd_nl_family(nl), GENL_ID_CTRL, "nlctrl resolved");
	test_transact(nl);
	test_commands_errors(nl);
	nbd_nl_close(nl);

	nl = NULL;
	is_int(nbd_nl_open_family(&nl, "nbdc-nofam", &e),
	       NBD_NL_NOFAMILY, "a missing family is NBD_NL_NOFAMILY");
	is_str(e.msg, "the kernel has no \"nbdc-nofam\" generic netlink family",
	       "  message");
	ok(!nl, "  no handle");
	nbd_nl_close(NULL);
}

/* ---- ioctl and sysfs paths that need no nbd driver ---- */

static void test_ioctl_local(void)
{
	static const int fds[] = { 0, 1 };
	struct nbd_attach a = { .index = -1, .size = 4096, .fds = fds, .nfds = 2 };
	struct nbd_err e = { "" };
	char buf[16];
	int fd = -1;

	is_int(nbd_ioctl_setup("/dev/nbd0", &a, &fd, &e), -1,
	       "ioctl: two sockets refused");
	is_str(e.msg, "multiple connections need netlink (the ioctl interface takes one socket)",
	       "  message");
	a.nfds = 0;
	is_int(nbd_ioctl_setup("/dev/nbd0", &a, &fd, &e), -1,
	       "ioctl: no socket refused");
	is_str(e.msg, "no socket to hand to the kernel", "  message");
	a.nfds = 1;
	is_int(nbd_ioctl_setup(NULL, &a, &fd, &e), -1, "ioctl: device needed");
	is_str(e.msg, "the ioctl interface needs a device (e.g. /dev/nbd0)",
	       "  message");
	is_int(nbd_ioctl_setup("/nonexistent/nbd0", &a, &fd, &e), -1,
	       "ioctl: missing device node");
	is_str(e.msg, "cannot open /nonexistent/nbd0: No such file or directory (is the nbd module loaded? try modprobe nbd)",
	       "  message");
	is_int(nbd_ioctl_setup("/dev/null", &a, &fd, &e), -1,
	       "ioctl: not an nbd device");
	is_str(e.msg, "/dev/null is not an nbd device", "  message");
	is_int(fd, -1, "  no fd returned");
	is_int(nbd_ioctl_disconnect("/dev/null", &e), -1,
	       "ioctl disconnect: not an nbd device");
	is_str(e.msg, "/dev/null is not an nbd device", "  message");

	strcpy(buf, "poison");
	is_int(nbd_sysfs_pid(NBD_MAX_INDEX, buf, sizeof(buf), &e), 0,
	       "sysfs pid: a device that does not exist is not connected");
	is_str(buf, "poison", "  buffer untouched");

	errno = 0;
	is_int(nbd_sysfs_backend(NBD_MAX_INDEX, buf, sizeof(buf)), -1,
	       "sysfs backend of a missing device");
	is_int(errno, ENOENT, "  ENOENT");
}

int main(void)
{
	test_names();
	test_kernel_errors();
	test_msg_connect_full();
	test_msg_connect_minimal();
	test_msg_connect_many();
	test_msg_connect_bad();
	test_msg_small();
	test_parse_connect();
	test_parse_status();
	test_parse_link_dead();
	test_netlink();
	test_ioctl_local();
	return tap_done();
}
