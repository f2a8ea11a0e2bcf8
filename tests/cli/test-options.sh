#!/bin/bash
# A bad option, in every subcommand: exactly one line on stderr,
# "hopwatch: CMD: unrecognized option '--bogus' (see 'hopwatch CMD --help')" (or what was
# wrong with it: an argument missing, or given to an option that takes none), nothing on
# standard output, exit 2. No network, no root.
#
#   HOPWATCH=build/hopwatch bash tests/cli/test-options.sh
. "$(dirname "$0")/lib.sh"

# says CMD WHAT ARGS...: `hopwatch CMD ARGS...` exits 2 with the one line about WHAT.
says() {
	local cmd=$1 what=$2 rc
	shift 2
	"$HOPWATCH" "$cmd" "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	local want="hopwatch: $cmd: $what (see 'hopwatch $cmd --help')"
	if [ "$rc" = 2 ] && [ ! -s "$WORK/out" ] && [ "$(cat "$WORK/err")" = "$want" ]; then
		ok "$cmd $*: exit 2, one line: $what"
	else
		not_ok "$cmd $*: exit $rc, wanted 2 and the one line \"$want\"; got:"
		sed 's/^/    /' "$WORK/err" | head -5
	fi
}

for cmd in trace runs show diff import annotate; do
	says "$cmd" "unrecognized option '--bogus'" --bogus 1
	says "$cmd" "unrecognized option '--bogus'" --bogus=3
	says "$cmd" "unrecognized option '-x'" -x
	says "$cmd" "option '--help' takes no argument" --help=yes
	# An option that takes an argument, given none.
	case $cmd in import) opt=--tag ;; annotate) opt=--format ;; *) opt=--store ;; esac
	says "$cmd" "option '$opt' requires an argument" "$opt"
done
# Short options: missing arguments and unknown ones inside a group.
says show "option '-o' requires an argument" 1 -o
says diff "option '-o' requires an argument" -o
says trace "option '-q' requires an argument" -q
says trace "unrecognized option '-Z'" -nZ 198.18.0.1
says annotate "unrecognized option '-Z'" -nZ run.json
# An abbreviation that fits two options; one that fits one is that option.
says runs "ambiguous option '--t'" --t x
says show "option '--store' requires an argument" --sto
# The option after a good long one is the one named.
says trace "unrecognized option '-x'" --no-store -x 198.18.0.1
finish
