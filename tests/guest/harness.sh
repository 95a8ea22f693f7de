# shellcheck shell=bash disable=SC2154  # harness_* are set by the caller
# Helpers shared by tests/guest/run.sh and tests/programs/{busybox,debian}.sh,
# which source this file: run a program with a fixed environment and a time limit,
# and compare a run under loom with the native one.  The native run is the
# oracle; a loom run passes when stdout is byte-identical and the process
# ended the same way (same exit status, or death by the same signal), and,
# for a case that writes files, the files it left are the same.
#
# Callers set: harness_limit (seconds per run), harness_cwd (working
# directory), harness_env (array of NAME=value for env -i).

harness_perl=$(command -v perl) || { echo "harness: perl not found" >&2; exit 1; }
harness_timeout=$(command -v timeout) || { echo "harness: timeout not found" >&2; exit 1; }

# harness_run OUT PROG [ARGS...]   (stdin: the file $harness_stdin, or /dev/null)
# Writes OUT.out, OUT.err and OUT.status ("exit N" or "signal N").  perl does
# the waiting because bash folds a death by signal N into status 128+N;
# timeout re-raises its child's signal on itself, so deaths pass through.
# The subshell keeps bash's "Aborted" notices off the terminal.
harness_run() {
	local out=$1
	shift
	# shellcheck disable=SC2016  # a perl program
	(
		cd "$harness_cwd" &&
			env -i "${harness_env[@]}" \
				"$harness_perl" -e '
					my $status_file = shift @ARGV;
					my $pid = fork // die "fork: $!";
					if (!$pid) { exec { $ARGV[0] } @ARGV; exit 127 }
					waitpid($pid, 0);
					my $s = $?;
					open(my $f, ">", $status_file) or die "$status_file: $!";
					print $f ($s & 127 ? "signal " . ($s & 127) : "exit " . ($s >> 8)), "\n";
				' "$out.status" "$harness_timeout" -k 5 "$harness_limit" "$@" \
				<"${harness_stdin:-/dev/null}" >"$out.out" 2>"$out.err"
	) 2>/dev/null
}

harness_describe() {
	case $1 in
	"exit 124") echo "timed out after ${harness_limit}s" ;;
	"signal "*) echo "$1 ($(kill -l "${1#signal }" 2>/dev/null))" ;;
	"") echo "no status (could not run)" ;;
	*) echo "$1" ;;
	esac
}

# harness_compare LABEL NATIVE LOOM REPRO
# NATIVE and LOOM are OUT prefixes given to harness_run.  Prints "PASS LABEL"
# or "FAIL LABEL: why" followed by a short diff, loom's last stderr lines and
# the REPRO command line.  Returns non-zero on failure.
harness_compare() {
	local label=$1 native=$2 loom=$3 repro=$4 ns ls why=""
	ns=$(cat "$native.status" 2>/dev/null)
	ls=$(cat "$loom.status" 2>/dev/null)
	if [ "$ns" = "exit 124" ] || [ -z "$ns" ]; then
		why="the native run timed out or did not run (a test bug)"
	elif [ "$ls" = "exit 124" ] || [ "$ls" = "signal 9" ]; then
		why="timed out after ${harness_limit}s"
	elif [ "$ls" != "$ns" ]; then
		why="native: $(harness_describe "$ns"), loom: $(harness_describe "$ls")"
	fi
	local same_out=1 same_files=1
	cmp -s "$native.out" "$loom.out" || same_out=0
	[ $same_out = 1 ] || why="${why:+$why; }stdout differs"
	# A case that writes files leaves NATIVE.files (a listing with hashes).
	if [ -e "$native.files" ]; then
		cmp -s "$native.files" "$loom.files" || same_files=0
		[ $same_files = 1 ] || why="${why:+$why; }files written differ"
	fi
	if [ -z "$why" ]; then
		echo "PASS $label"
		return 0
	fi
	echo "FAIL $label: $why"
	if [ $same_out = 0 ]; then
		if grep -qI . "$native.out" "$loom.out" 2>/dev/null; then
			diff -a "$native.out" "$loom.out" | head -n 12 | cut -c1-200 | sed 's/^/    /'
		else
			echo "    (binary output: $(wc -c <"$native.out") bytes native, $(wc -c <"$loom.out") under loom)"
		fi
	fi
	if [ $same_files = 0 ]; then
		echo "    files (native < > loom):"
		diff "$native.files" "$loom.files" | grep '^[<>]' | head -n 8 | cut -c1-200 | sed 's/^/      /'
	fi
	if [ -s "$loom.err" ]; then
		echo "    loom stderr (last lines):"
		tail -n 5 "$loom.err" | cut -c1-200 | sed 's/^/      /'
	fi
	echo "    repro: $repro"
	return 1
}

# ---- the case queue of the program suites (busybox.sh, debian.sh) ----------
# The caller defines run_case NAME ARGS... (prints PASS/FAIL lines) and sets
# work (with an out/ directory), jobs, filters (name prefixes; empty: all)
# and keep_work.  harness_case queues one case, running JOBS at a time and
# printing results in order; harness_finish SUITE waits for the rest and
# prints "N passed, N failed".
harness_ncases=0
harness_next=0
harness_pids=()

harness_print_next() {
	wait "${harness_pids[harness_next]}"
	cat "$work/out/result.$harness_next"
	harness_next=$((harness_next + 1))
}

# harness_case NAME [<INPUT] ARGS...: INPUT (a file in $work/run) on stdin.
harness_case() {
	local name=$1
	shift
	if [ ${#filters[@]} -gt 0 ]; then
		local keep=0 f
		for f in "${filters[@]}"; do
			case $name in "$f"*) keep=1 ;; esac
		done
		[ $keep = 1 ] || return 0
	fi
	local harness_stdin=/dev/null stdin_note=""
	case $1 in "<"*)
		harness_stdin=$work/run/${1#<}
		stdin_note=" <${1#<}"
		shift ;;
	esac
	run_case "$name" "$@" >"$work/out/result.$harness_ncases" 2>&1 &
	harness_pids[harness_ncases]=$!
	harness_ncases=$((harness_ncases + 1))
	while [ $((harness_ncases - harness_next)) -ge "$jobs" ]; do
		harness_print_next
	done
}

harness_finish() {
	local suite=$1 passed=0 failed=0
	while [ $harness_next -lt $harness_ncases ]; do
		harness_print_next
	done
	if [ $harness_ncases -gt 0 ]; then
		passed=$(cat "$work"/out/result.* | grep -c '^PASS ')
		failed=$(cat "$work"/out/result.* | grep -c '^FAIL ')
	fi
	if [ $((passed + failed)) -ne $harness_ncases ]; then
		echo "FAIL $suite: only $((passed + failed)) of $harness_ncases cases reported"
		failed=$((harness_ncases - passed))
	fi
	[ "$failed" -gt 0 ] && keep_work=1
	[ "$keep_work" = 1 ] && echo "inputs kept in $work"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
