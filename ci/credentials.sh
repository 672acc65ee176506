# Sourced by gate.sh and site.sh: the Action's credential inputs become MLflow's variables.
# Empty inputs are not exported, so MLflow's defaults (and a caller's own variables) stay intact.
export_if_set() {
  if [ -n "${2:-}" ]; then export "$1=$2"; fi
}
export_if_set MLFLOW_TRACKING_URI "${INPUT_TRACKING_URI:-}"
export_if_set MLFLOW_TRACKING_USERNAME "${INPUT_TRACKING_USERNAME:-}"
export_if_set MLFLOW_TRACKING_PASSWORD "${INPUT_TRACKING_PASSWORD:-}"
export_if_set MLFLOW_TRACKING_TOKEN "${INPUT_TRACKING_TOKEN:-}"
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"
