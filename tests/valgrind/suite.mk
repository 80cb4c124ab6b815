# make check-valgrind: the client under valgrind memcheck (tests/valgrind/
# README.md).  Included by the top Makefile (BIN, UNIT_BIN, PROVE, CURDIR).
#
# The host suites chosen in VALGRIND_TESTS run with NBDC pointing at
# tests/valgrind/nbdc-vg, which runs $(BIN) under memcheck; the unit tests
# run under it directly (vg-unit).  Any error or definite/indirect leak
# fails: the wrapper's exit status and stderr marker (seen by the tests'
# assertions), vg-unit's exit status (seen by prove), and scan.sh, which
# fails on any non-empty log (the resident processes and TLS proxies too).
# A self-test first proves that the wrapper reports a leaky program.

VALGRIND_TESTS ?= tests/integration/10-nbdkit.t tests/integration/40-cli.t \
		  tests/integration/45-local.t tests/integration/50-teardown.t \
		  tests/hostile/10-negotiation.t
VALGRIND_JOBS  ?= 2
VG_LOGS        := $(BUILD)/valgrind-logs

CHECK_PARTS    += valgrind

.PHONY: check-valgrind valgrind-selftest

$(BUILD)/valgrind/leaky: tests/valgrind/leaky.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -o $@ $<

valgrind-selftest: $(BUILD)/valgrind/leaky
	@command -v valgrind >/dev/null || { \
		echo "check-valgrind: valgrind not found: install it (sh .ci/deps)" >&2; exit 1; }
	@rm -rf $(VG_LOGS)/selftest
	@NBDC_VG_BIN=$(CURDIR)/$(BUILD)/valgrind/leaky NBDC_VG_LOGDIR=$(VG_LOGS)/selftest \
		tests/valgrind/nbdc-vg >/dev/null 2>$(VG_LOGS).selftest; rc=$$?; \
	if [ $$rc != 99 ] || ! grep -q '^nbdc-vg: VALGRIND ERRORS' $(VG_LOGS).selftest || \
	   ! grep -q 'definitely lost' $(VG_LOGS)/selftest/*.log || \
	   ! grep -q 'uninitialised' $(VG_LOGS)/selftest/*.log || \
	   tests/valgrind/scan.sh $(VG_LOGS)/selftest >/dev/null 2>&1; then \
		echo "check-valgrind: the self-test's leak and uninitialised read were not reported (status $$rc)" >&2; \
		cat $(VG_LOGS).selftest >&2; exit 1; fi; \
	echo "valgrind self-test: a leak and an uninitialised read are reported"

check-valgrind: all valgrind-selftest
	@rm -rf $(VG_LOGS) && mkdir -p $(VG_LOGS) && chmod 1777 $(VG_LOGS)	# 45-local.t runs some as nobody
	NBDC_VG_LOGDIR=$(CURDIR)/$(VG_LOGS) \
		prove --timer -j$(VALGRIND_JOBS) --exec $(CURDIR)/tests/valgrind/vg-unit $(UNIT_BIN)
	NBDC=$(CURDIR)/tests/valgrind/nbdc-vg NBDC_VG_BIN=$(CURDIR)/$(BIN) \
	NBDC_VG_LOGDIR=$(CURDIR)/$(VG_LOGS) NBDC_TIMEOUT=60 \
		$(PROVE) -j$(VALGRIND_JOBS) $(VALGRIND_TESTS)
	tests/valgrind/scan.sh $(VG_LOGS)
