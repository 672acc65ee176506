#!/usr/bin/env bash
# Build the static site of the plans in MLPLAN_PLANS into MLPLAN_SITE_DIR (run by action.yml
# when its site-dir input is set; runnable by hand with the same variables). Credentials as in
# gate.sh (ci/credentials.sh).
set -euo pipefail

# shellcheck source=ci/credentials.sh
source "$(dirname "${BASH_SOURCE[0]}")/credentials.sh"

# Word splitting and glob expansion of the plan list are intended here.
# shellcheck disable=SC2086
mlplan site ${MLPLAN_PLANS:-} --output "${MLPLAN_SITE_DIR:?set MLPLAN_SITE_DIR}"
