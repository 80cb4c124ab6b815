// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What an attach leaves in NBD_STATE_DIR for an adopter, read back: the
 * state file (state.h) and the command line (argsfile.h), byte-exact on
 * disk, and parsed again by the same command-line code; and a process
 * told by its pid and start time (proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argsfile.h"
#include "cli.h"
#include "proc.h"
#include "state.h"
#include "tap.h"

static char dir[] = "/tmp/test-state.XXXXXX";
static int dirfd_;

/* The file's bytes, and their number in *len. */
static char *slurp(const char *name, size_t *len)
{
	static char buf[4096];
	int fd = openat(dirfd_, name, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	*len = n < 0 ? 0 : (size_t)n;
	buf[*len] = 0;
	return buf;
}

static void put(const char *name, const char *bytes, size_t len)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len)
		printf("# cannot write %s\n", name);
	if (fd >= 0)
		close(fd);
}

static void state_round_trip(void)
{
	struct state_device s = {
		.pid = 1234, .monitor = 1240, .monitor_start = 98765,
		.first = { .size = 67108864, .tflags = 0x4ed,
			   .have_block_size = true, .min_block = 1,
			   .pref_block = 4096, .max_block = 33554432 },
		.p = { .size = 67108864, .block_size = 512, .flags = 0x4ed,
		       .max_request = 33554432 },
		.dead = 1,
	};
	struct state_link l[2] = { { "kernel TLS", "TLS1.3, AES-256-GCM" },
				   { "TLS proxy", "TLS1.2, AES-128-GCM" } };
	struct state_device r;
	struct state_links x;
	size_t len;

	is_int(state_write(dirfd_, "nbd0", &s, l, 2), 0, "state: written");
	is_str(slurp("nbd0", &len),
	       "pid 1234\n"
	       "monitor 1240 98765\n"
	       "export 67108864 1261 1 1 4096 33554432\n"
	       "device 67108864 512 1261 33554432\n"
	       "dead 1\n"
	       "link kernel TLS|TLS1.3, AES-256-GCM\n"
	       "link TLS proxy|TLS1.2, AES-128-GCM\n", "state: the file, byte-exact");
	is_int(state_read(dirfd_, "nbd0", &r, &x), 0, "state: read back");
	is_int(r.pid, 1234, "state: pid");
	is_int(r.monitor, 1240, "state: monitor");
	is_int(r.monitor_start, 98765, "state: monitor's start time");
	ok(!memcmp(&r.first, &s.first, sizeof(r.first)), "state: the export's numbers");
	ok(!memcmp(&r.p, &s.p, sizeof(r.p)), "state: what the kernel was told");
	is_int(r.dead, 1, "state: dead links");
	is_int(x.n, 2, "state: two links");
	is_str(x.path[1], "TLS proxy", "state: link 2's path");
	is_str(x.tls[0], "TLS1.3, AES-256-GCM", "state: link 1's TLS");
	/* the file of an earlier version: pid and links only */
	put("nbd1", "pid 77\nlink plaintext|\n", 23);
	is_int(state_read(dirfd_, "nbd1", &r, &x), 0, "state: an older file reads");
	is_int(r.pid * 1000 + r.monitor + r.dead + x.n, 77001,
	       "state: pid 77, no monitor, none dead, one link");
	put("nbd2", "link plaintext|\n", 16);
	errno = 0;
	is_int(state_read(dirfd_, "nbd2", &r, &x), -1, "state: no pid line: refused");
	is_int(errno, EINVAL, "state: ... EINVAL");
	errno = 0;
	is_int(state_read(dirfd_, "nbd9", &r, &x), -1, "state: no file");
	is_int(errno, ENOENT, "state: ... ENOENT");
	put("nbd3", "pid 5\nexport 1 2\n", 17);
	is_int(state_read(dirfd_, "nbd3", &r, &x), -1, "state: a short export line: refused");
}

static void args_round_trip(void)
{
	char *argv[] = { "@nbd-client", "-persist", "-N", "", "--psk-file",
			 "keys.psk", "srv", "10810", "/dev/nbd0", NULL };
	static const char want[] = "/etc/nbd\0-persist\0-N\0\0--psk-file\0keys.psk\0srv\0" "10810\0/dev/nbd0";
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct argsfile a;
	struct stat st;
	struct cli o;
	size_t len;
	char *got;
	int i;

	is_int(argsfile_write(dirfd_, "nbd0", "/etc/nbd", argv), 0, "args: written");
	got = slurp("nbd0.args", &len);
	is_int(len, sizeof(want), "args: the file's length");
	ok(len == sizeof(want) && !memcmp(got, want, len),
	   "args: the file, byte-exact (cwd, then argv[1...], each NUL-ended)");
	is_int(fstatat(dirfd_, "nbd0.args", &st, 0) == 0 ? (int)(st.st_mode & 0777) : -1,
	       0600, "args: mode 0600");
	is_int(argsfile_read(dirfd_, "nbd0", &a), 0, "args: read back");
	is_str(a.cwd, "/etc/nbd", "args: cwd");
	is_int(a.argc, 9, "args: argc");
	is_str(a.argv[0], "nbd-client", "args: argv[0]");
	for (i = 1; i < 9; i++)
		is_str(a.argv[i], argv[i], "args: argv[%d]", i);
	ok(a.argv[9] == NULL, "args: NULL-terminated");
	/* the same command-line code parses them */
	config_init(&c);
	is_int(cli_parse(a.argc, a.argv, &c, &o, &e), 0, "args: cli_parse takes them");
	is_str(e.msg, "", "args: no message");
	is_int(o.mode, MODE_ATTACH, "args: an attach");
	is_int(c.persist, 1, "args: -persist");
	is_str(c.export_name, "", "args: -N ''");
	is_str(c.tls.psk_file, "keys.psk", "args: --psk-file");
	is_str(c.host, "srv", "args: the host");
	is_str(c.port, "10810", "args: the port");
	is_str(c.device, "/dev/nbd0", "args: the device");
	cli_free(&o);
	config_free(&c);
	argsfile_free(&a);

	put("nbd1.args", "/\0-persist", 10);
	errno = 0;
	is_int(argsfile_read(dirfd_, "nbd1", &a), -1, "args: no final NUL: refused");
	is_int(errno, EINVAL, "args: ... EINVAL");
	put("nbd2.args", "", 0);
	errno = 0;
	is_int(argsfile_read(dirfd_, "nbd2", &a), -1, "args: empty: refused");
	is_int(errno, EINVAL, "args: ... EINVAL");
	errno = 0;
	is_int(argsfile_read(dirfd_, "nbd9", &a), -1, "args: no file");
	is_int(errno, ENOENT, "args: ... ENOENT");
	got = calloc(1, ARGSFILE_MAX + 1);
	if (got)
		put("nbd3.args", got, ARGSFILE_MAX + 1);
	free(got);
	errno = 0;
	is_int(argsfile_read(dirfd_, "nbd3", &a), -1, "args: over 64 KiB: refused");
	is_int(errno, EFBIG, "args: ... EFBIG");
}

static void processes(void)
{
	unsigned long long start = 0;
	pid_t child;

	is_int(proc_start_time(getpid(), &start), 0, "proc: our start time");
	ok(start > 0, "proc: ... is after boot");
	ok(proc_alive(getpid(), start), "proc: we are alive");
	ok(!proc_alive(getpid(), start + 1), "proc: another start time is another process");
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	ok(!proc_alive(child, start), "proc: a reaped child is gone");
	errno = 0;
	is_int(proc_start_time(child, &start), -1, "proc: no start time for it");
	is_int(errno, ESRCH, "proc: ... ESRCH");
}

int main(void)
{
	if (!mkdtemp(dir) || (dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
		printf("Bail out! cannot make a directory in /tmp\n");
		return 1;
	}
	state_round_trip();
	args_round_trip();
	processes();
	close(dirfd_);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	wait(NULL);
	return tap_done();
}
