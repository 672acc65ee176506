# Sourced by gate.sh and site.sh: the Action's credential inputs become MLflow's variables.
# Empty inputs are not exported, so MLflow's defaults (and a caller's own variables) stay intact.
# Also what both scripts need to print mlplan's output safely (show_verbatim).
export_if_set() {
  if [ -n "${2:-}" ]; then export "$1=$2"; fi
}
export_if_set MLFLOW_TRACKING_URI "${INPUT_TRACKING_URI:-}"
export_if_set MLFLOW_TRACKING_USERNAME "${INPUT_TRACKING_USERNAME:-}"
export_if_set MLFLOW_TRACKING_PASSWORD "${INPUT_TRACKING_PASSWORD:-}"
export_if_set MLFLOW_TRACKING_TOKEN "${INPUT_TRACKING_TOKEN:-}"
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"

# GitHub reads any output line starting with "::" as a workflow command, and a plan's file name
# (from a glob) may hold a newline: whatever quotes plan names or mlplan's messages is printed
# with workflow commands switched off.
show_verbatim() {
  local token
  # Unguessable, so a plan's name or message cannot end the block early.
  token="mlplan-$(od -An -N16 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n' || true)$RANDOM$$"
  echo "::stop-commands::$token"
  cat "$1"
  echo "::$token::"
}
