#!/usr/bin/env bash
# The mlplan CI gate (run by action.yml; runnable by hand with the same variables).
#
# For every plan in MLPLAN_PLANS (space- or newline-separated paths; globs are expanded), run
# `mlplan status --check --format markdown` and append its verdict table to the job summary
# (GITHUB_STEP_SUMMARY; printed to stdout when unset). The gate fails when any plan needs
# attention (overdue, failed without a decision, criteria changed without an amendment), when
# a plan cannot be read or its store reached, and, with MLPLAN_REQUIRE_STORE=true (the
# default), when a plan's store is missing or holds no results: a gate that sees nothing
# must not pass.
#
# Credentials come from INPUT_TRACKING_URI, INPUT_TRACKING_USERNAME, INPUT_TRACKING_PASSWORD
# and INPUT_TRACKING_TOKEN; empty ones are not exported, so MLflow's defaults stay intact.
set -u

# shellcheck source=ci/credentials.sh
source "$(dirname "${BASH_SOURCE[0]}")/credentials.sh"

# GitHub reads any output line starting with "::" as a workflow command, and a plan's file
# name (from a glob) may hold a newline: every text put into a command is escaped by GitHub's
# rules (%25, %0D, %0A in the message; also %3A and %2C in a property such as file=), and what
# mlplan itself prints is shown between ::stop-commands:: markers (show_verbatim, in
# credentials.sh), so none of it is obeyed.
escape_data() {
  local text="${1//'%'/%25}"
  text="${text//$'\r'/%0D}"
  printf '%s' "${text//$'\n'/%0A}"
}
escape_property() {
  local text
  text="$(escape_data "$1")"
  text="${text//:/%3A}"
  printf '%s' "${text//,/%2C}"
}

summary="${GITHUB_STEP_SUMMARY:-}"
if [ -z "$summary" ]; then
  summary="$(mktemp)"
  # By hand, the summary goes to stdout: it quotes plan names and mlplan's messages, so it is
  # shown verbatim like them (a job that leaves the variable unset would obey it otherwise).
  trap 'show_verbatim "$summary"; rm -f "$summary"' EXIT
fi
flags=(--check --format markdown)
if [ "${MLPLAN_REQUIRE_STORE:-true}" = "true" ]; then flags+=(--require-store); fi

errors="$(mktemp)"
failed=0
checked=0
# Word splitting and glob expansion of the plan list are intended here.
# shellcheck disable=SC2086
for plan in ${MLPLAN_PLANS:-}; do
  checked=$((checked + 1))
  if [ ! -f "$plan" ]; then
    printf '### ❌ %s\n\nNo such plan file.\n\n' "$plan" >>"$summary"
    echo "::error::$(escape_data "mlplan: no such plan file: $plan")"
    failed=1
    continue
  fi
  table="$(mlplan status "$plan" "${flags[@]}" 2>"$errors")"
  code=$?
  if [ -n "$table" ]; then
    printf '%s\n\n' "$table" >>"$summary"
  fi
  if [ "$code" -ne 0 ]; then
    failed=1
    if [ -z "$table" ]; then  # mlplan stopped before judging: an unreadable plan or store
      printf '### ❌ %s could not be checked\n\n```\n%s\n```\n\n' "$plan" "$(cat "$errors")" \
        >>"$summary"
    fi
    message="mlplan status --check failed for $plan: $(tr '\n' ' ' <"$errors")"
    echo "::error file=$(escape_property "$plan")::$(escape_data "$message")"
  fi
  if [ -s "$errors" ]; then show_verbatim "$errors" >&2; fi
done
rm -f "$errors"

if [ "$checked" -eq 0 ]; then
  echo "::error::mlplan: no plans given; set the action's 'plans' input"
  printf '### ❌ mlplan: no plans given\n' >>"$summary"
  exit 1
fi
exit "$failed"
