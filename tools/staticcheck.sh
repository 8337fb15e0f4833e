#!/usr/bin/env bash
# Runs staticcheck and drops the findings that fall in generated files.
#
# staticcheck filters generated code only for its style and simplification checks; its
# correctness checks (SA4006, SA4010, SA1019, ...) still report inside files such as
# ent's gql_collection.go, which no one can fix by hand. A file is generated when it has
# Go's standard header line: ^// Code generated .* DO NOT EDIT\.$
#
# Usage: tools/staticcheck.sh PATH_TO_STATICCHECK [staticcheck args...]
set -uo pipefail

bin=${1:?usage: $0 STATICCHECK [args...]}
shift

out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$bin" "$@" >"$out" 2>&1
rc=$?

declare -A generated=()
is_generated() {
	local f=$1
	if [[ -z ${generated[$f]+x} ]]; then
		generated[$f]=0
		if [[ -f $f ]] && grep -qE '^// Code generated .* DO NOT EDIT\.$' "$f"; then
			generated[$f]=1
		fi
	fi
	[[ ${generated[$f]} == 1 ]]
}

kept=0 dropped=0 keep=1
while IFS= read -r line || [[ -n $line ]]; do
	if [[ $line == $'\t'* || $line == ' '* ]]; then
		# Continuation of the previous finding.
		if ((keep)); then printf '%s\n' "$line"; fi
		continue
	fi
	keep=1
	file=${line%%:*}
	if [[ $line == *:* && $file != "-" ]] && is_generated "$file"; then
		keep=0
		dropped=$((dropped + 1))
		continue
	fi
	kept=$((kept + 1))
	printf '%s\n' "$line"
done <"$out"

if ((dropped)); then
	echo "staticcheck: ignored $dropped finding(s) in generated files" >&2
fi
if ((kept)); then
	exit 1
fi
if ((rc != 0 && dropped == 0)); then
	echo "staticcheck: exited $rc" >&2
	exit "$rc"
fi
exit 0
