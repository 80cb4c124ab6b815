// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -swap's floor for vm.min_free_kbytes (reserve.h): the numbers, and the
 * raise itself against a stand-in for /proc (a directory with meminfo and
 * sys/vm/min_free_kbytes): raised where lower, never lowered, and each
 * bad file named in one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reserve.h"
#include "tap.h"

static char dir[] = "/tmp/test-reserve.XXXXXX";
static char path[256];

static const char *at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	if (!f || fputs(text, f) < 0)
		printf("# cannot write %s\n", name);
	if (f)
		fclose(f);
}

static const char *get(const char *name)
{
	static char buf[256];
	FILE *f = fopen(at(name), "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static const char *meminfo_256m = "MemTotal:         208612 kB\n"
				  "MemFree:          143228 kB\n"
				  "MemAvailable:     148600 kB\n";

static void floors(void)
{
	is_int(swap_reserve_floor_kb(208612, 1), 8192,
	       "a 256 MiB guest, one connection: 4 MiB for it and 4 MiB more");
	is_int(swap_reserve_floor_kb(208612, 4), 13038,
	       "four connections there: capped at a sixteenth of MemTotal");
	is_int(swap_reserve_floor_kb(16303472, 4), 20480,
	       "16 GiB, four connections: 4 MiB each and 4 MiB more");
	is_int(swap_reserve_floor_kb(65536, 1), 4096,
	       "64 MiB: a sixteenth of it");
	is_int(swap_reserve_floor_kb(0, 1), 0, "no MemTotal: no floor");
}

static void raised(void)
{
	struct swap_reserve r = {1, 1};
	struct nbd_err e = {""};

	put("meminfo", meminfo_256m);
	put("sys/vm/min_free_kbytes", "1737\n");
	is_int(swap_reserve_raise(dir, 1, &r, &e), 0, "raise: 0");
	is_int(r.from_kb, 1737, "what it was");
	is_int(r.to_kb, 8192, "what it is now");
	is_str(get("sys/vm/min_free_kbytes"), "8192\n", "the file says 8192");

	is_int(swap_reserve_raise(dir, 1, &r, &e), 0, "again: 0");
	is_int(r.from_kb, 8192, "found 8192");
	is_int(r.to_kb, 0, "left as it was");

	put("sys/vm/min_free_kbytes", "67584\n");
	is_int(swap_reserve_raise(dir, 4, &r, &e), 0, "a higher value: 0");
	is_int(r.to_kb, 0, "never lowered");
	is_str(get("sys/vm/min_free_kbytes"), "67584\n",
	       "the file is untouched");
}

static void refused(void)
{
	struct swap_reserve r;
	struct nbd_err e = {""};
	char want[512];
	const char *why;
	int fd;

	put("sys/vm/min_free_kbytes", "1737\n");
	unlink(at("meminfo"));
	is_int(swap_reserve_raise(dir, 1, &r, &e), -1, "no meminfo: -1");
	snprintf(want, sizeof(want),
		 "cannot read %s/meminfo: No such file or directory", dir);
	is_str(e.msg, want, "names the file and why");

	put("meminfo", "MemFree: 1 kB\n");
	is_int(swap_reserve_raise(dir, 1, &r, &e), -1, "no MemTotal: -1");
	snprintf(want, sizeof(want), "%s/meminfo: no MemTotal line", dir);
	is_str(e.msg, want, "says which line is missing");

	put("meminfo", meminfo_256m);
	put("sys/vm/min_free_kbytes", "lots\n");
	is_int(swap_reserve_raise(dir, 1, &r, &e), -1, "garbage: -1");
	snprintf(want, sizeof(want),
		 "%s/sys/vm/min_free_kbytes: not a number of KiB: 'lots'", dir);
	is_str(e.msg, want, "quotes it");

	/* a file that reads as a number and that no one may write, root
	 * included: a read-only sysctl (mode 0444; EACCES, or EROFS where
	 * /proc/sys is mounted read-only, as in some containers) */
	unlink(at("sys/vm/min_free_kbytes"));
	if (symlink("/proc/sys/kernel/cap_last_cap",
		    at("sys/vm/min_free_kbytes")) < 0)
		printf("# cannot link cap_last_cap\n");
	fd = open(at("sys/vm/min_free_kbytes"), O_WRONLY | O_TRUNC);
	why = fd < 0 ? strerror(errno) : "(writable)";
	if (fd >= 0)
		close(fd);
	is_int(swap_reserve_raise(dir, 1, &r, &e), -1, "not writable: -1");
	snprintf(want, sizeof(want),
		 "cannot raise vm.min_free_kbytes from %lu to 8192 KiB: "
		 "%s/sys/vm/min_free_kbytes: %s",
		 strtoul(get("sys/vm/min_free_kbytes"), NULL, 10), dir, why);
	is_str(e.msg, want, "says what it tried, on which file, and why");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	mkdir(at("sys"), 0755);
	mkdir(at("sys/vm"), 0755);
	floors();
	raised();
	refused();
	unlink(at("sys/vm/min_free_kbytes"));
	unlink(at("meminfo"));
	rmdir(at("sys/vm"));
	rmdir(at("sys"));
	rmdir(dir);
	return tap_done();
}
