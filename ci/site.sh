#!/usr/bin/env bash
# Build the static site of the plans in MLPLAN_PLANS into MLPLAN_SITE_DIR (run by action.yml
# when its site-dir input is set; runnable by hand with the same variables). Credentials as in
# gate.sh: empty ones are not exported.
set -euo pipefail

export_if_set() {
  if [ -n "${2:-}" ]; then export "$1=$2"; fi
}
export_if_set MLFLOW_TRACKING_URI "${INPUT_TRACKING_URI:-}"
export_if_set MLFLOW_TRACKING_USERNAME "${INPUT_TRACKING_USERNAME:-}"
export_if_set MLFLOW_TRACKING_PASSWORD "${INPUT_TRACKING_PASSWORD:-}"
export_if_set MLFLOW_TRACKING_TOKEN "${INPUT_TRACKING_TOKEN:-}"
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"

# Word splitting and glob expansion of the plan list are intended here.
# shellcheck disable=SC2086
mlplan site ${MLPLAN_PLANS:-} --output "${MLPLAN_SITE_DIR:?set MLPLAN_SITE_DIR}"
