#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The hostile server's own test (selftest.py prints TAP): it checks every
# mode's bytes on the wire and log lines with a raw-socket client, so that a
# broken server shows up here rather than as a puzzling client failure in
# the other tests/hostile/*.t.
exec "${PYTHON:-python3}" "$(dirname "$0")/selftest.py"
