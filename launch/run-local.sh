#!/usr/bin/env bash
# Start the local sandbox EHR (FHIR servers + SMART authorization server) and the app, then
# print the one URL to open. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-127.0.0.1}
APP_PORT=${APP_PORT:-8000}
EHR_PORT=${EHR_PORT:-8001}
CLINIC_PORT=${CLINIC_PORT:-8002}
APP_URL="http://${HOST}:${APP_PORT}"

export SANDBOX_HOST="$HOST" SANDBOX_EHR_PORT="$EHR_PORT" SANDBOX_CLINIC_PORT="$CLINIC_PORT"
export SANDBOX_DATA_DIR="${SANDBOX_DATA_DIR:-.data/sandbox}"
export SANDBOX_APP_LAUNCH_URL="${APP_URL}/launch"
export SANDBOX_APP_REDIRECT_URIS="${APP_URL}/callback"
export SANDBOX_APP_JWKS_URL="${APP_URL}/.well-known/jwks.json"
export SANDBOX_FHIR_BASE_URL="http://${HOST}:${EHR_PORT}/fhir"
export SANDBOX_EHR_URL="http://${HOST}:${EHR_PORT}"  # the CDS client's iss and JWKS (registrations/sandbox.toml)
export SMART_APP_PUBLIC_URL="${SMART_APP_PUBLIC_URL:-$APP_URL}"
export SMART_APP_DATABASE_URL="${SMART_APP_DATABASE_URL:-sqlite:///.data/smart_app.sqlite3}"
# the data key that seals tokens and PHI at rest: generated once, mode 0600, never a built-in default
if [ -z "${SMART_APP_DATA_KEYS:-}" ]; then
  .venv/bin/python -m smart_app.crypto generate .data/data.key
  SMART_APP_DATA_KEYS="$(cat .data/data.key)"
  export SMART_APP_DATA_KEYS
fi
export SANDBOX_CLINIC_FHIR_BASE_URL="http://${HOST}:${CLINIC_PORT}/fhir"  # launch/receivers/sandbox-clinic.toml
# The app's signing key for SMART Backend Services (the clinic trusts its JWKS URL); kept across runs.
export SMART_APP_SIGNING_KEY_FILES="${SMART_APP_SIGNING_KEY_FILES:-.data/app-signing-key.pem}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

mkdir -p .data
.venv/bin/python -W ignore::RuntimeWarning -m smart_app.keys generate "${SMART_APP_SIGNING_KEY_FILES%% *}" >/dev/null
log=.data/sandbox.log
: >"$log"
launch/.venv/bin/python -m sandbox_ehr >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  grep -q "Sandbox EHR ready" "$log" && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "The sandbox EHR did not start:" >&2; tail -20 "$log" >&2; exit 1; }
  sleep 0.1
done
grep -q "Sandbox EHR ready" "$log" || { echo "The sandbox EHR did not start in 60 s:" >&2; tail -20 "$log" >&2; exit 1; }

.venv/bin/gunicorn -c python:smart_app.gunicorn_conf --bind "${HOST}:${APP_PORT}" \
  "smart_app:create_app()" &
pids+=($!)
for _ in $(seq 1 300); do
  curl -fsS "${APP_URL}/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "The app did not start." >&2; exit 1; }
  sleep 0.1
done

# One delivery worker: sends queued referrals to the clinic and follows their Tasks.
.venv/bin/flask --app smart_app deliver --loop >.data/worker.log 2>&1 &
pids+=($!)

echo
echo "Second Opinion is running."
echo "Open the sandbox EHR and click \"Launch Second Opinion\":  http://${HOST}:${EHR_PORT}/"
echo "The second-opinion physician's EHR: http://${HOST}:${CLINIC_PORT}/"
echo "(app: ${APP_URL}/  ·  logs: ${log}, .data/worker.log  ·  Ctrl-C stops everything)"
wait -n "${pids[@]}"
