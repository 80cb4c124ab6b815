# make bench: performance comparisons (tests/bench/README.md).  Not part of
# `make check` (nothing is added to CHECK_PARTS): the figures are reported,
# and under TCG they take minutes.  Included by the top Makefile (BIN,
# CURDIR; NBDC is exported there).

.PHONY: bench-host bench-vm

bench: bench-host bench-vm

# The TLS proxy on the host against plaintext and nbdcopy, no kernel
# needed: the table goes to stdout (about 5 minutes).
bench-host: $(BUILD)/tests/proxybench
	tests/bench/host-bench.sh

# One boot of tests/vm's VM: kernel TLS vs the TLS proxy vs plaintext vs
# Debian's nbd-client over TLS; the table goes to stdout.
bench-vm: $(BIN)
	tests/bench/vm-bench.sh

# The host proxy benchmark's load generator: links the client library, so
# it connects, negotiates and forks the proxy exactly as nbd-client does,
# and (--no-as-needed) maps the same shared libraries, so that the proxy's
# memory is measured as it is.
$(BUILD)/tests/proxybench: tests/bench/proxybench.c $(BUILD)/libnbdc.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(BUILD)/libnbdc.a -Wl,--no-as-needed $(PKG_LIBS)

# `make all` builds it too: tests/integration/85-proxybench.t runs it
# briefly, so that `make bench` keeps working.
all: $(BUILD)/tests/proxybench
