#!/usr/bin/env bash
# The shipped schedules (systemd/): every service runs a command and
# options this mstore accepts, every timer names its service's schedule,
# the cron example runs the same commands, and the example rules file is
# valid (expire -n on a store accepts it).
. "$MSTORE_SRC/tests/lib/common.sh"
UNITS=$(dirname "$MSTORE_BIN")/systemd
SRC=$MSTORE_SRC/systemd
[ -d "$UNITS" ] || { t_fail "no $UNITS: the units are not built"; t_done; }

for u in expire purge quota-notify reconstruct-check; do
	svc=$UNITS/mstore-$u.service
	[ -f "$svc" ] && t_ok || { t_fail "mstore-$u.service not built"; continue; }
	[ -f "$SRC/mstore-$u.timer" ] && t_ok || t_fail "mstore-$u.timer missing"
	grep -q '^OnCalendar=' "$SRC/mstore-$u.timer" && grep -q '^WantedBy=timers.target' "$SRC/mstore-$u.timer" && t_ok ||
		t_fail "mstore-$u.timer has no OnCalendar or WantedBy"
	exec_line=$(sed -n 's/^ExecStart=//p' "$svc")
	grep -q '@BINDIR@' "$svc" && t_fail "mstore-$u.service: @BINDIR@ not substituted" || t_ok
	cmd=$(echo "$exec_line" | awk '{ print $2 }')
	# quota (issue 16 item 4) is built on another branch: until it is
	# merged its unit is checked for shape only; once it is, strictly
	if [ "$cmd" = quota ] && ! "$MSTORE_BIN" help 2>&1 | grep -q '^  quota '; then
		echo "NOTE: no 'mstore quota' in this build: mstore-$u.service's options not checked" >&2
		continue
	fi
	mst help "$cmd"; expect_ok "mstore-$u.service runs 'mstore $cmd', a command mstore knows"
	# every option the unit passes is in that command's help
	for opt in $(echo "$exec_line" | grep -o -- ' -[-a-z]*'); do
		grep -q -- "$opt" "$T_TMP/out" && t_ok || t_fail "mstore-$u.service passes $opt, which 'mstore help $cmd' does not name"
	done
	# the cron example runs the same command line
	grep -qF -- "${exec_line#*/mstore }" "$UNITS/mstore.cron" && t_ok || t_fail "mstore.cron lacks '${exec_line#*/mstore }'"
done

URL=sqlite:$T_TMP/s.db
mkdir -p "$T_TMP/data"
mst init "$URL"; expect_ok "init"
mst expire --rules "$SRC/expire.rules.example" -n --db "$URL" --data "$T_TMP/data"; expect_ok "the example rules file is valid"
expect_out_contains "rule lists: 0 message(s)" "its rules are read"
t_done
