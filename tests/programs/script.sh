# A busybox sh script run by tests/programs/busybox.sh, natively and under
# loom: loops, functions (recursive), case, arithmetic, pipelines, subshells,
# command substitution, here-documents, parameter expansion, read loops,
# traps and exit statuses.  Every line it prints must be deterministic.

fib() {
	if [ "$1" -lt 2 ]; then
		echo "$1"
	else
		echo $(( $(fib $(($1 - 1))) + $(fib $(($1 - 2))) ))
	fi
}

classify() {
	case $1 in
	[0-9]*[!0-9]*) echo "mixed" ;;
	[0-9]*) echo "number" ;;
	*.txt | *.md) echo "text file" ;;
	-*) echo "option" ;;
	"") echo "empty" ;;
	*) echo "word" ;;
	esac
}

echo "fib(12) = $(fib 12)"
for w in 42 4x2 notes.txt -v "" hello; do
	printf '%-10s %s\n' "[$w]" "$(classify "$w")"
done

# Arithmetic: precedence, bit ops, shifts, ternary, negative modulo.
i=0 sum=0 prod=1
while [ $i -lt 20 ]; do
	i=$((i + 1))
	sum=$((sum + i * i))
	[ $((i % 3)) -eq 0 ] && prod=$(( (prod * i) % 1000003 ))
done
echo "sum of squares $sum, product mod p $prod"
echo "bits: $(( 0xff & 0x3c | 1 << 8 )) $(( ~5 )) $(( -7 % 3 )) $(( 7 > 3 ? 10 : 20 )) $(( 2 ** 10 ))"

# Pipelines and subshells: variables set in a subshell stay there.
x=outer
(x=inner; echo "in subshell: $x")
echo "after subshell: $x"
count=$(seq 1 50 | grep 7 | wc -l)
echo "numbers with a 7 below 51: $count"
seq 1 10 | while read n; do
	[ $((n % 2)) -eq 0 ] && echo "even $n"
done | tr '\n' ' '
echo

# Here-document with expansion, and one without.
name=loom
cat <<END
here-doc for $name: $((6 * 7))
END
cat <<'END'
literal $name $((1+1))
END

# Parameter expansion.
path=/usr/local/lib/libfoo.so.1.2
echo "${path##*/} ${path%/*} ${path#/usr} ${path%%.*} len=${#path}"
unset maybe
echo "default: ${maybe:-fallback} ${maybe-unset} set: ${path:+yes}"

# Positional parameters and IFS splitting.
set -- one "two three" four
echo "argc=$# first=$1 second=$2 all=$*"
shift
echo "after shift: $# [$1]"
old_ifs=$IFS
IFS=:
set -- $(echo "a:b::c")
IFS=$old_ifs
echo "split on colon: $# fields"
for f in "$@"; do printf '<%s>' "$f"; done
echo

# Exit statuses, && || and !.
false || echo "false failed"
true && echo "true succeeded"
! false && echo "negated"
(exit 7)
echo "subshell status $?"
if grep -q needle /dev/null; then echo found; else echo "grep status $?"; fi

# Background jobs and wait.
(sleep 0; echo "background done") > bg.out &
wait
cat bg.out

# Reading a file line by line, with a counter per first letter.
seq 1 200 | sed 's/^/item /' > items.txt
a=0 b=0
while read word num; do
	case $num in 1*) a=$((a + 1)) ;; 2*) b=$((b + 1)) ;; esac
done < items.txt
echo "starting with 1: $a, with 2: $b"

# String building in a loop, and a long pipeline.
s=""
for c in a b c d e f g h; do s="$s$c"; done
echo "built $s, reversed $(echo $s | rev)"
seq 1 1000 | awk '{ s += $1 } END { print "awk sum", s }' | sed 's/sum/total/' | tr a-z A-Z

trap 'echo "trap on exit"' EXIT
exit 0
