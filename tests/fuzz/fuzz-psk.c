// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PSK file (client/tls.c tls_psk_lookup), psktool's "user:hexkey"
 * lines.  The first byte picks the --psk-user (none, "alice", "", "bob:x");
 * the rest, up to a NUL, is the file.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "tls.h"

static const char *const users[4] = { NULL, "alice", "", "bob:x" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nbd_err e = { "" };
	char *text, *user = (char *)1, *key = (char *)1;
	const char *want;
	size_t i, klen;

	if (!size)
		return 0;
	want = users[data[0] & 3];
	text = fuzz_strdup(data + 1, size - 1);
	if (tls_psk_lookup(text, want, "psk.txt", &user, &key, &e) < 0) {
		fuzz_check_user_err(&e, "tls_psk_lookup");
		fuzz_assert(!user && !key, "user or key left after an error");
	} else {
		fuzz_assert(user && key, "no user or key");
		fuzz_assert(*user && !strpbrk(user, ":\n"), "user '%s'", user);
		if (want)
			fuzz_assert(!strcmp(user, want), "asked %s, got %s", want,
				    user);
		klen = strlen(key);
		fuzz_assert(klen && klen % 2 == 0, "key of %zu digits", klen);
		for (i = 0; i < klen; i++)
			fuzz_assert(strchr("0123456789abcdefABCDEF", key[i]) &&
					    key[i],
				    "key digit 0x%02x", (unsigned char)key[i]);
	}
	free(user);
	free(key);
	free(text);
	return 0;
}
