#!/usr/bin/env bash
# Build the static site of the plans in MLPLAN_PLANS into MLPLAN_SITE_DIR (run by action.yml
# when its site-dir input is set; runnable by hand with the same variables). Credentials as in
# gate.sh (ci/credentials.sh).
set -euo pipefail

# shellcheck source=ci/credentials.sh
source "$(dirname "${BASH_SOURCE[0]}")/credentials.sh"

site_dir="${MLPLAN_SITE_DIR:?set MLPLAN_SITE_DIR}"
# mlplan's output names plan files, which may hold a newline and a workflow command: it is kept
# and shown verbatim (show_verbatim, in credentials.sh).
out="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
code=0
# Word splitting and glob expansion of the plan list are intended here.
# shellcheck disable=SC2086
mlplan site ${MLPLAN_PLANS:-} --output "$site_dir" >"$out" 2>"$err" || code=$?
show_verbatim "$out"
if [ -s "$err" ]; then show_verbatim "$err" >&2; fi
exit "$code"
