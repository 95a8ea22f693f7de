# Functions, arrays, pipelines, subshells, here documents, process
# substitution, background jobs and traps.
set -o pipefail
declare -A count
while read -r w n rest; do
	count[$w]=$(( ${count[$w]:-0} + 1 ))
done < <(head -n 2000 lines.txt)
for k in $(printf '%s\n' "${!count[@]}" | sort); do printf '%s=%d ' "$k" "${count[$k]}"; done; echo
fib() { local n=$1; (( n < 2 )) && { echo "$n"; return; }; echo $(( $(fib $((n - 1))) + $(fib $((n - 2))) )); }
echo "fib $(fib 8)"
( cd /; pwd; exit 4 ); echo "subshell $?"
{ echo x; echo y; } | { read -r a; read -r b; echo "$b$a"; }
cut -d' ' -f1 lines.txt | sort | uniq -c | sort -rn | head -n 3
false | true; echo "pipefail $?"
cat <<EOT | tr a-z A-Z
here $((2 ** 10)) ${BASH_VERSINFO[0]}
EOT
for i in 1 2 3; do (sleep 0.0$i; echo "job $i" > job.$i) & done; wait
cat job.1 job.2 job.3; rm -f job.?
trap 'echo trapped' USR1; kill -USR1 $$
arr=(one two three); echo "${#arr[@]} ${arr[*]:1} ${arr[1]^^} ${arr[2]/e/E}"
exec 3>&1; echo "to fd 3" >&3; exec 3>&-
[[ "abc123" =~ ^([a-z]+)([0-9]+)$ ]] && echo "${BASH_REMATCH[2]}${BASH_REMATCH[1]}"
