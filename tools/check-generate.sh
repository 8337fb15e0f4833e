#!/usr/bin/env bash
# Runs the code generators and fails if they changed the work tree: generated code
# must be committed exactly as the generators write it.
#
# On a clean tree (CI's fresh clone) any change to a tracked file and any new untracked
# file fails. On a tree that already has local changes, the state of every changed or
# untracked path (status and content hash) is compared before and after, so only what
# the generators themselves changed is reported.
#
# Usage: tools/check-generate.sh GENERATE_COMMAND [args...]   (e.g. go generate ./...)
set -euo pipefail

if (($# == 0)); then
	echo "usage: $0 GENERATE_COMMAND [args...]" >&2
	exit 2
fi
cd "$(git rev-parse --show-toplevel)"

# One line per changed or untracked path: "XY<TAB>path<TAB>content hash".
snapshot() {
	local entry xy path hash
	git status --porcelain=v1 -z --untracked-files=all | while IFS= read -r -d '' entry; do
		xy=${entry:0:2}
		path=${entry:3}
		# Renames and copies carry the original path as an extra field.
		if [[ $xy == R* || $xy == C* ]]; then
			IFS= read -r -d '' _ || true
		fi
		if [[ -f $path || -L $path ]]; then
			hash=$(git hash-object --no-filters -- "$path")
		else
			hash=-
		fi
		printf '%s\t%s\t%s\n' "$xy" "$path" "$hash"
	done | LC_ALL=C sort
}

before=$(snapshot)
echo "+ $*"
"$@"
after=$(snapshot)

if [[ $before == "$after" ]]; then
	echo "check-generate: generated code is up to date"
	exit 0
fi

echo >&2
echo "check-generate: running '$*' changed the work tree; run 'make generate' and commit the result." >&2
if [[ -z $before ]]; then
	echo "Changed or new files:" >&2
	git status --porcelain=v1 --untracked-files=all >&2
	echo >&2
	git --no-pager diff --stat >&2 || true
	git --no-pager diff | head -n 200 >&2 || true
else
	echo "The tree had local changes before generating; paths the generators changed:" >&2
	diff <(printf '%s\n' "$before" | cut -f1,2,3) <(printf '%s\n' "$after" | cut -f1,2,3) \
		| grep -E '^[<>]' | cut -f2 | LC_ALL=C sort -u | sed 's/^/  /' >&2 || true
fi
exit 1
