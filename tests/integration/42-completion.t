#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bash completion (scripts/bash-completion/nbd-client) offers the
# device commands' spellings and completes their device arguments.  The
# device list is stubbed: this host has no /dev/nbdN.
. "$(dirname "$0")/../lib.sh"

# shellcheck source=../../scripts/bash-completion/nbd-client
. "$TOP/scripts/bash-completion/nbd-client"
_nbd_client_devices() { printf '%s\n' /dev/nbd0 /dev/nbd1 /dev/nbd10; }
compopt() { :; }	# only works inside a real completion

# comp WORDS...: what completing the last word offers, sorted, one line
comp() {
	COMP_WORDS=(nbd-client "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_nbd_client
	((${#COMPREPLY[@]})) || return 0
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

is "$(comp --sta)" "--status " "--sta completes to --status"
is "$(comp -statu)" "-status " "-statu completes to -status"
is "$(comp --status /dev/nbd1)" "/dev/nbd1 /dev/nbd10 " "--status: a device"
is "$(comp -status '')" "/dev/nbd0 /dev/nbd1 /dev/nbd10 " "-status: every device"
is "$(comp --status --json /dev/nbd)" "/dev/nbd0 /dev/nbd1 /dev/nbd10 " \
	"--status --json: the device still to come"
is "$(comp --status /dev/nbd0 '')" "" "--status DEV: nothing more"
is "$(comp --status --json /dev/nbd0 '')" "" "--status --json DEV: nothing more"
is "$(comp -c /dev/nbd1)" "/dev/nbd1 /dev/nbd10 " "-c: a device"
is "$(comp -d '')" "/dev/nbd0 /dev/nbd1 /dev/nbd10 " "-d: every device"
is "$(comp --ado)" "--adopt " "--ado completes to --adopt"
is "$(comp --adopt /dev/nbd1)" "/dev/nbd1 /dev/nbd10 " "--adopt: a device"
is "$(comp --adopt -nofork '')" "/dev/nbd0 /dev/nbd1 /dev/nbd10 " \
	"--adopt -nofork: the device still to come"
is "$(comp --adopt /dev/nbd0 '')" "" "--adopt DEV: nothing more"

done_testing
