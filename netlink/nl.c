// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nbd generic netlink interface (linux/nbd-netlink.h), with libnl-genl.
 *
 * Every request is sent with NLM_F_ACK and we always wait for the ACK (or
 * the error) that ends it: CONNECT and STATUS answer with one reply message
 * and then the ACK, DISCONNECT and RECONFIGURE with the ACK alone.  The
 * kernel's errno is taken from the NLMSG_ERROR itself rather than from
 * libnl's translated NLE_* code, so EPERM, EBUSY, ... survive intact.
 *
 * Multicast events (NBD_CMD_LINK_DEAD) arrive on a second socket so that
 * they can never be mistaken for, or break the sequence checks of, a reply.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "kernel.h"

struct nbd_nl {
	struct nl_sock *sk;	/* requests and their replies */
	struct nl_sock *ev;	/* multicast group, NULL until subscribed */
	struct nl_cb *ev_cb;
	int family;
	int ev_index;		/* filled by ev_valid() */
	bool ev_got;
};

/* What the kernel sends us (unknown attributes are ignored). */
static const struct nla_policy attr_policy[NBD_ATTR_MAX + 1] = {
	[NBD_ATTR_INDEX]	= { .type = NLA_U32 },
	[NBD_ATTR_DEVICE_LIST]	= { .type = NLA_NESTED },
};

static const struct nla_policy device_policy[NBD_DEVICE_ATTR_MAX + 1] = {
	[NBD_DEVICE_INDEX]	= { .type = NLA_U32 },
	[NBD_DEVICE_CONNECTED]	= { .type = NLA_U8 },
};

static int nomem(struct nbd_err *e)
{
	return err_set(e, "out of memory");
}

static bool dev_exists(int index)
{
	char path[48];

	snprintf(path, sizeof(path), "/sys/block/nbd%d", index);
	return access(path, F_OK) == 0;
}

static void dev_what(char *buf, size_t len, const char *verb, int index)
{
	if (index >= 0)
		snprintf(buf, len, "%s /dev/nbd%d", verb, index);
	else
		snprintf(buf, len, "%s an nbd device", verb);
}

/* ---- building requests ---- */

static int check_index(int index, bool any_ok, struct nbd_err *e)
{
	if (index == -1 && any_ok)
		return 0;
	if (index < 0 || index > NBD_MAX_INDEX)
		return err_set(e, "invalid nbd device index %d", index);
	return 0;
}

static int check_fds(const int *fds, unsigned int nfds, struct nbd_err *e)
{
	unsigned int i;

	if (nfds && !fds)
		return err_set(e, "no socket to hand to the kernel");
	for (i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return err_set(e, "invalid socket %d to hand to the kernel",
				       fds[i]);
	return 0;
}

static bool has_ident(const char *identifier)
{
	return identifier && *identifier;
}

static struct nl_msg *msg_new(int family, uint8_t cmd, unsigned int nfds,
			      const char *identifier)
{
	size_t len = NLMSG_HDRLEN + GENL_HDRLEN + 256 + (size_t)nfds * 16;
	struct nl_msg *msg;

	if (has_ident(identifier))
		len += strlen(identifier) + 8;
	msg = nlmsg_alloc_size(len);
	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK,
			 cmd, NBD_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Put a u64 attribute unless it is 0 (= "not set"). */
static int put_opt_u64(struct nl_msg *msg, int type, uint64_t v)
{
	return v ? nla_put_u64(msg, type, v) : 0;
}

static int put_sockets(struct nl_msg *msg, const int *fds, unsigned int nfds)
{
	struct nlattr *list, *item;
	unsigned int i;

	list = nla_nest_start(msg, NBD_ATTR_SOCKETS);
	if (!list)
		return -1;
	for (i = 0; i < nfds; i++) {
		item = nla_nest_start(msg, NBD_SOCK_ITEM);
		if (!item || nla_put_u32(msg, NBD_SOCK_FD, (uint32_t)fds[i]) < 0)
			return -1;
		nla_nest_end(msg, item);
	}
	nla_nest_end(msg, list);
	return 0;
}

static int put_connect(struct nl_msg *msg, const struct nbd_attach *a)
{
	if (a->index >= 0 && nla_put_u32(msg, NBD_ATTR_INDEX, a->index) < 0)
		return -1;
	if (nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, a->size) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, a->block_size) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, a->server_flags) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_CLIENT_FLAGS, a->client_flags) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_TIMEOUT, a->timeout) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, a->dead_timeout) < 0)
		return -1;
	if (has_ident(a->identifier) &&
	    nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, a->identifier) < 0)
		return -1;
	return put_sockets(msg, a->fds, a->nfds);
}

static int msg_full(struct nbd_err *e, struct nl_msg *msg, const char *cmd)
{
	nlmsg_free(msg);
	return err_set(e, "cannot build the netlink %s request: message too large",
		       cmd);
}

int nbd_nl_msg_connect(int family, const struct nbd_attach *a,
		       struct nl_msg **out, struct nbd_err *e)
{
	struct nl_msg *msg;

	if (check_index(a->index, true, e) < 0 ||
	    check_fds(a->fds, a->nfds, e) < 0)
		return -1;
	if (!a->nfds)
		return err_set(e, "no socket to hand to the kernel");
	msg = msg_new(family, NBD_CMD_CONNECT, a->nfds, a->identifier);
	if (!msg)
		return nomem(e);
	if (put_connect(msg, a) < 0)
		return msg_full(e, msg, "CONNECT");
	*out = msg;
	return 0;
}

int nbd_nl_msg_disconnect(int family, int index, struct nl_msg **out,
			  struct nbd_err *e)
{
	struct nl_msg *msg;

	if (check_index(index, false, e) < 0)
		return -1;
	msg = msg_new(family, NBD_CMD_DISCONNECT, 0, NULL);
	if (!msg)
		return nomem(e);
	if (nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0)
		return msg_full(e, msg, "DISCONNECT");
	*out = msg;
	return 0;
}

static int put_reconfigure(struct nl_msg *msg, int index, const int *fds,
			   unsigned int nfds, unsigned int timeout,
			   unsigned int dead_timeout, const char *identifier)
{
	if (nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_TIMEOUT, timeout) < 0 ||
	    put_opt_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, dead_timeout) < 0)
		return -1;
	if (has_ident(identifier) &&
	    nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, identifier) < 0)
		return -1;
	return nfds ? put_sockets(msg, fds, nfds) : 0;
}

int nbd_nl_msg_reconfigure(int family, int index, const int *fds,
			   unsigned int nfds, unsigned int timeout,
			   unsigned int dead_timeout, const char *identifier,
			   struct nl_msg **out, struct nbd_err *e)
{
	struct nl_msg *msg;

	if (check_index(index, false, e) < 0 || check_fds(fds, nfds, e) < 0)
		return -1;
	msg = msg_new(family, NBD_CMD_RECONFIGURE, nfds, identifier);
	if (!msg)
		return nomem(e);
	if (put_reconfigure(msg, index, fds, nfds, timeout, dead_timeout,
			    identifier) < 0)
		return msg_full(e, msg, "RECONFIGURE");
	*out = msg;
	return 0;
}

int nbd_nl_msg_status(int family, int index, struct nl_msg **out,
		      struct nbd_err *e)
{
	struct nl_msg *msg;

	if (check_index(index, true, e) < 0)
		return -1;
	msg = msg_new(family, NBD_CMD_STATUS, 0, NULL);
	if (!msg)
		return nomem(e);
	if (index >= 0 && nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0)
		return msg_full(e, msg, "STATUS");
	*out = msg;
	return 0;
}

/* ---- parsing what the kernel sends ---- */

/* Check the genl header's command and parse the top-level attributes. */
static int parse_genl(struct nl_msg *msg, uint8_t cmd, struct nlattr **tb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh;

	if (!genlmsg_valid_hdr(nlh, 0))
		return -1;
	gh = nlmsg_data(nlh);
	if (gh->cmd != cmd)
		return -1;
	return genlmsg_parse(nlh, 0, tb, NBD_ATTR_MAX, attr_policy) < 0 ? -1 : 0;
}

static int get_index(struct nlattr *attr, int *index_out)
{
	uint32_t v;

	if (!attr)
		return -1;
	v = nla_get_u32(attr);
	if (v > INT_MAX)
		return -1;
	*index_out = (int)v;
	return 0;
}

int nbd_nl_parse_connect_reply(struct nl_msg *msg, int *index_out,
			       struct nbd_err *e)
{
	struct nlattr *tb[NBD_ATTR_MAX + 1];

	if (parse_genl(msg, NBD_CMD_CONNECT, tb) < 0 ||
	    get_index(tb[NBD_ATTR_INDEX], index_out) < 0)
		return err_set(e, "malformed CONNECT reply from the kernel (no device index)");
	return 0;
}

static int parse_device(struct nlattr *item, struct nbd_dev_status *st)
{
	struct nlattr *tb[NBD_DEVICE_ATTR_MAX + 1];

	if (nla_parse_nested(tb, NBD_DEVICE_ATTR_MAX, item, device_policy) < 0)
		return -1;
	if (get_index(tb[NBD_DEVICE_INDEX], &st->index) < 0)
		return -1;
	st->connected = tb[NBD_DEVICE_CONNECTED] &&
			nla_get_u8(tb[NBD_DEVICE_CONNECTED]);
	return 0;
}

int nbd_nl_parse_status_reply(struct nl_msg *msg, struct nbd_dev_status *out,
			      size_t max, size_t *n_out, struct nbd_err *e)
{
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nbd_dev_status st;
	struct nlattr *item;
	size_t n = 0;
	int rem;

	if (parse_genl(msg, NBD_CMD_STATUS, tb) < 0)
		return err_set(e, "malformed STATUS reply from the kernel");
	*n_out = 0;
	/* The kernel always sends the list, possibly empty; be lenient. */
	if (!tb[NBD_ATTR_DEVICE_LIST])
		return 0;
	nla_for_each_nested(item, tb[NBD_ATTR_DEVICE_LIST], rem) {
		if (nla_type(item) != NBD_DEVICE_ITEM)
			continue;
		if (parse_device(item, &st) < 0)
			return err_set(e, "malformed STATUS reply from the kernel (bad device entry)");
		if (n < max)
			out[n++] = st;
	}
	*n_out = n;
	return 0;
}

int nbd_nl_parse_link_dead(struct nl_msg *msg, int *index_out)
{
	struct nlattr *tb[NBD_ATTR_MAX + 1];

	if (parse_genl(msg, NBD_CMD_LINK_DEAD, tb) < 0 ||
	    get_index(tb[NBD_ATTR_INDEX], index_out) < 0)
		return 0;
	return 1;
}

/* ---- sockets ---- */

static int sock_new(struct nl_sock **out, struct nbd_err *e)
{
	struct nl_sock *sk;
	int rc;

	sk = nl_socket_alloc();
	if (!sk)
		return nomem(e);
	rc = genl_connect(sk);
	if (rc < 0) {
		nl_socket_free(sk);
		return err_set(e, "cannot open a generic netlink socket: %s",
			       nl_geterror(rc));
	}
	*out = sk;
	return 0;
}

int nbd_nl_open_family(struct nbd_nl **out, const char *family,
		       struct nbd_err *e)
{
	struct nbd_nl *nl;
	int rc;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return nomem(e);
	rc = sock_new(&nl->sk, e);
	if (rc < 0)
		goto fail;
	nl_socket_enable_msg_peek(nl->sk);	/* STATUS replies can be big */
	rc = genl_ctrl_resolve(nl->sk, family);
	if (rc == -NLE_OBJ_NOTFOUND) {
		err_set(e, "the kernel has no \"%s\" generic netlink family",
			family);
		rc = NBD_NL_NOFAMILY;
		goto fail;
	}
	if (rc < 0) {
		rc = err_set(e, "cannot look up the \"%s\" generic netlink family: %s",
			     family, nl_geterror(rc));
		goto fail;
	}
	nl->family = rc;
	*out = nl;
	return 0;
fail:
	nbd_nl_close(nl);
	return rc;
}

int nbd_nl_open(struct nbd_nl **out, struct nbd_err *e)
{
	int rc;

	rc = nbd_nl_open_family(out, NBD_GENL_FAMILY_NAME, e);
	if (rc != NBD_NL_NOFAMILY)
		return rc;
	/* no module, and none to load: no ioctl interface either */
	if (nbd_kmod_load(e) < 0)
		return -1;
	rc = nbd_nl_open_family(out, NBD_GENL_FAMILY_NAME, e);
	if (rc == NBD_NL_NOFAMILY)
		err_set(e, "the nbd kernel module has no netlink interface (kernel older than 4.12?)");
	return rc;
}

void nbd_nl_close(struct nbd_nl *nl)
{
	if (!nl)
		return;
	if (nl->ev_cb)
		nl_cb_put(nl->ev_cb);
	nl_socket_free(nl->ev);
	nl_socket_free(nl->sk);
	free(nl);
}

int nbd_nl_family(const struct nbd_nl *nl)
{
	return nl->family;
}

/* ---- one request, its reply and its ACK ---- */

struct txn {
	int family;
	nbd_nl_parse_fn parse;
	void *arg;
	struct nbd_err *e;
	int kerr;
	bool done, replied, failed;
};

static int txn_valid(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	if (nlmsg_hdr(msg)->nlmsg_type != t->family || !t->parse || t->failed)
		return NL_SKIP;
	t->replied = true;
	if (t->parse(msg, t->arg, t->e) < 0)
		t->failed = true;
	return NL_OK;
}

static int txn_ack(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	(void)msg;
	t->done = true;
	return NL_STOP;
}

static int txn_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct txn *t = arg;

	(void)nla;
	t->kerr = err->error < 0 ? -err->error : err->error;
	t->done = true;
	return NL_STOP;
}

static int txn_run(struct nbd_nl *nl, struct nl_cb *cb, struct txn *t,
		   struct nl_msg *msg)
{
	int rc;

	rc = nl_send_auto(nl->sk, msg);
	if (rc < 0)
		return err_set(t->e, "cannot send the netlink request: %s",
			       nl_geterror(rc));
	while (!t->done) {
		rc = nl_recvmsgs(nl->sk, cb);
		if (rc < 0 && !t->done)
			return err_set(t->e, "cannot read the kernel's netlink reply: %s",
				       nl_geterror(rc));
	}
	if (t->kerr || t->failed)
		return -1;
	if (t->parse && !t->replied)
		return err_set(t->e, "the kernel acknowledged the request but sent no reply");
	return 0;
}

int nbd_nl_transact(struct nbd_nl *nl, struct nl_msg *msg,
		    nbd_nl_parse_fn parse, void *arg, int *kerr,
		    struct nbd_err *e)
{
	struct txn t = {
		.family = nl->family, .parse = parse, .arg = arg, .e = e,
	};
	struct nl_cb *cb;
	int rc;

	*kerr = 0;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return nomem(e);
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, txn_valid, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, txn_ack, &t);
	nl_cb_err(cb, NL_CB_CUSTOM, txn_error, &t);
	rc = txn_run(nl, cb, &t, msg);
	nlmsg_free(msg);
	nl_cb_put(cb);
	*kerr = t.kerr;
	return rc;
}

/* ---- commands ---- */

static int connect_cb(struct nl_msg *msg, void *arg, struct nbd_err *e)
{
	return nbd_nl_parse_connect_reply(msg, arg, e);
}

static bool blksize_suspect(uint64_t bs)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!bs)
		return false;
	return bs < 512 || (bs & (bs - 1)) || (page > 0 && bs > (uint64_t)page);
}

/*
 * CONNECT creates a missing device, unless its first minor (index <<
 * part_shift, part_shift = fls(max_part)) does not fit in 20 bits.
 */
static int no_such_index(struct nbd_err *e, const char *what)
{
	char buf[32];
	FILE *f = fopen("/sys/module/nbd/parameters/max_part", "re");
	int max_part = -1, shift = 0;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			max_part = atoi(buf);
		fclose(f);
	}
	if (max_part < 0)
		return err_set(e, "%s: no such device, and the kernel cannot create it (see dmesg)",
			       what);
	while (max_part >> shift)
		shift++;
	return err_set(e, "%s: no such device, and the kernel cannot create it (with max_part=%d the largest index is %d)",
		       what, max_part, NBD_MAX_INDEX >> shift);
}

/*
 * The pid that started the device (its sysfs pid), 0 where it was never
 * started.  The kernel keeps it, with the whole configuration, until the
 * last opener closes: right after a disconnect it is still there.
 */
static int dev_pid(int index)
{
	char buf[32];

	if (nbd_sysfs_attr(index, "pid", buf, sizeof(buf)) > 0 && atoi(buf) > 0)
		return atoi(buf);
	return 0;
}

static int busy_error(struct nbd_err *e, int index, int pid,
		      unsigned int waited_ms)
{
	if (pid > 0)
		return err_set(e, "/dev/nbd%d is already connected, by pid %d (disconnect it first: nbd-client -d /dev/nbd%d)",
			       index, pid, index);
	return err_set(e, "/dev/nbd%d is not connected, but something kept it open for %u.%u s (a udev probe, a mount?); try again, or another device",
		       index, waited_ms / 1000, waited_ms % 1000 / 100);
}

static int connect_once(struct nbd_nl *nl, const struct nbd_attach *a,
			int *index_out, int *kerr, struct nbd_err *e)
{
	struct nl_msg *msg;
	int index = -1;

	*kerr = 0;
	if (nbd_nl_msg_connect(nl->family, a, &msg, e) < 0)
		return -1;
	if (nbd_nl_transact(nl, msg, connect_cb, &index, kerr, e))
		return -1;
	*index_out = index;
	return 0;
}

/*
 * The kernel answers EBUSY for a device that anyone merely has open (the
 * opener holds a configuration): udev's probe after every change does
 * that, also right after a disconnect.  Such a device is free once the
 * opener closes it: wait for that within the deadline.  A device that
 * was started (it has a pid) and stays busy for NBD_BUSY_STARTED_MS is
 * connected: refused, naming who connected it.
 */
int nbd_nl_connect(struct nbd_nl *nl, const struct nbd_attach *a,
		   int *index_out, struct nbd_err *e)
{
	unsigned int waited = 0;
	char what[64];
	int kerr, pid = 0;

	for (;;) {
		if (!connect_once(nl, a, index_out, &kerr, e))
			return 0;
		if (kerr != EBUSY || a->index < 0)
			break;
		pid = dev_pid(a->index);
		if (waited >= a->busy_wait_ms ||
		    (pid && waited >= NBD_BUSY_STARTED_MS))
			return busy_error(e, a->index, pid, waited);
		usleep(NBD_BUSY_RETRY_MS * 1000);
		waited += NBD_BUSY_RETRY_MS;
	}
	if (!kerr)
		return -1;
	dev_what(what, sizeof(what), "cannot connect", a->index);
	if (kerr == EINVAL && blksize_suspect(a->block_size))
		return err_set(e, "%s: block size %llu rejected (it must be a power of two from 512 to the page size)",
			       what, (unsigned long long)a->block_size);
	if (kerr == EINVAL && a->index >= 0 && !dev_exists(a->index))
		return no_such_index(e, what);
	return nbd_kernel_error(e, kerr, what, a->index);
}

static bool dev_connected(int index)
{
	char pid[32];

	return nbd_sysfs_attr(index, "pid", pid, sizeof(pid)) >= 0;
}

/*
 * DISCONNECT and RECONFIGURE say EINVAL for "no such device" and, for
 * RECONFIGURE, for "not connected" and "backend identifier mismatch".
 */
static int index_error(struct nbd_err *e, int kerr, const char *verb,
		       int index)
{
	char what[64];

	dev_what(what, sizeof(what), verb, index);
	if (kerr == EINVAL && !dev_exists(index))
		return err_set(e, "%s: no such device", what);
	if (kerr == EINVAL && !strcmp(verb, "cannot reconfigure")) {
		if (!dev_connected(index))
			return err_set(e, "%s: not connected", what);
		return err_set(e, "%s: %s (backend identifier mismatch? see dmesg)",
			       what, strerror(kerr));
	}
	return nbd_kernel_error(e, kerr, what, kerr == EBUSY ? -1 : index);
}

int nbd_nl_disconnect(struct nbd_nl *nl, int index, struct nbd_err *e)
{
	struct nl_msg *msg;
	int kerr;

	if (nbd_nl_msg_disconnect(nl->family, index, &msg, e) < 0)
		return -1;
	if (!nbd_nl_transact(nl, msg, NULL, NULL, &kerr, e))
		return 0;
	if (!kerr)
		return -1;
	return index_error(e, kerr, "cannot disconnect", index);
}

int nbd_nl_reconfigure(struct nbd_nl *nl, int index, const int *fds,
		       unsigned int nfds, unsigned int timeout,
		       unsigned int dead_timeout, const char *identifier,
		       struct nbd_err *e)
{
	char backend[4096];
	struct nl_msg *msg;
	const char *ident = identifier;
	int kerr;

	if (!ident && index >= 0 &&
	    nbd_sysfs_backend(index, backend, sizeof(backend)) > 0)
		ident = backend;
	if (nbd_nl_msg_reconfigure(nl->family, index, fds, nfds, timeout,
				   dead_timeout, ident, &msg, e) < 0)
		return -1;
	if (!nbd_nl_transact(nl, msg, NULL, NULL, &kerr, e))
		return 0;
	if (!kerr)
		return -1;
	return index_error(e, kerr, "cannot reconfigure", index);
}

int nbd_nl_reconnect(struct nbd_nl *nl, int index, int fd,
		     const char *identifier, struct nbd_err *e)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return err_errno(e, errno, "cannot clear the new socket's send timeout");
	if (nbd_nl_reconfigure(nl, index, &fd, 1, 0, 0, identifier, e) < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) < 0)
		return err_errno(e, errno, "cannot read the new socket's send timeout");
	return tv.tv_sec || tv.tv_usec;
}

struct status_arg {
	struct nbd_dev_status *out;
	size_t max, n;
};

static int status_cb(struct nl_msg *msg, void *arg, struct nbd_err *e)
{
	struct status_arg *sa = arg;
	size_t n;

	if (nbd_nl_parse_status_reply(msg, sa->out ? sa->out + sa->n : NULL,
				      sa->max - sa->n, &n, e) < 0)
		return -1;
	sa->n += n;
	return 0;
}

int nbd_nl_status(struct nbd_nl *nl, int index, struct nbd_dev_status *out,
		  size_t max, size_t *n_out, struct nbd_err *e)
{
	struct status_arg sa = { .out = out, .max = out ? max : 0 };
	struct nl_msg *msg;
	char what[64];
	int kerr;

	*n_out = 0;
	if (nbd_nl_msg_status(nl->family, index, &msg, e) < 0)
		return -1;
	if (!nbd_nl_transact(nl, msg, status_cb, &sa, &kerr, e)) {
		*n_out = sa.n;
		return 0;
	}
	if (!kerr)
		return -1;
	if (index >= 0)
		dev_what(what, sizeof(what), "cannot query", index);
	else
		snprintf(what, sizeof(what), "cannot query the nbd devices");
	return nbd_kernel_error(e, kerr, what, -1);
}

/* ---- LINK_DEAD events ---- */

static int ev_seq_ok(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int ev_valid(struct nl_msg *msg, void *arg)
{
	struct nbd_nl *nl = arg;
	int index;

	if (nl->ev_got || nlmsg_hdr(msg)->nlmsg_type != nl->family)
		return NL_OK;
	if (nbd_nl_parse_link_dead(msg, &index)) {
		nl->ev_index = index;
		nl->ev_got = true;
	}
	return NL_OK;
}

static int ev_open(struct nbd_nl *nl, int grp, struct nbd_err *e)
{
	int rc;

	if (sock_new(&nl->ev, e) < 0)
		return -1;
	rc = nl_socket_add_membership(nl->ev, grp);
	if (rc < 0)
		return err_set(e, "cannot join the nbd netlink multicast group: %s",
			       nl_geterror(rc));
	rc = nl_socket_set_nonblocking(nl->ev);
	if (rc < 0)
		return err_set(e, "cannot make the nbd event socket non-blocking: %s",
			       nl_geterror(rc));
	nl->ev_cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nl->ev_cb)
		return nomem(e);
	/* Multicasts carry sequence number 0: no sequence checks here. */
	nl_cb_set(nl->ev_cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, ev_seq_ok, NULL);
	nl_cb_set(nl->ev_cb, NL_CB_VALID, NL_CB_CUSTOM, ev_valid, nl);
	return 0;
}

int nbd_nl_subscribe_link_dead(struct nbd_nl *nl, struct nbd_err *e)
{
	int grp;

	if (nl->ev_cb)
		return 0;
	grp = genl_ctrl_resolve_grp(nl->sk, NBD_GENL_FAMILY_NAME,
				    NBD_GENL_MCAST_GROUP_NAME);
	if (grp < 0)
		return err_set(e, "cannot find the nbd netlink multicast group \"%s\": %s",
			       NBD_GENL_MCAST_GROUP_NAME, nl_geterror(grp));
	if (ev_open(nl, grp, e) < 0) {
		if (nl->ev_cb)
			nl_cb_put(nl->ev_cb);
		nl_socket_free(nl->ev);
		nl->ev_cb = NULL;
		nl->ev = NULL;
		return -1;
	}
	return 0;
}

int nbd_nl_fd(struct nbd_nl *nl)
{
	return nl->ev_cb ? nl_socket_get_fd(nl->ev) : -1;
}

int nbd_nl_recv_link_dead(struct nbd_nl *nl, int *index_out,
			  struct nbd_err *e)
{
	int rc;

	if (!nl->ev_cb)
		return err_set(e, "not subscribed to nbd netlink events");
	nl->ev_got = false;
	rc = nl_recvmsgs(nl->ev, nl->ev_cb);
	if (rc < 0 && rc != -NLE_AGAIN)
		return err_set(e, "cannot read nbd netlink events: %s (events may have been lost)",
			       nl_geterror(rc));
	if (!nl->ev_got)
		return 0;
	*index_out = nl->ev_index;
	return 1;
}
