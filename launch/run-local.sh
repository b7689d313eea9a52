#!/usr/bin/env bash
# Start the local sandbox EHR (FHIR servers + SMART authorization server), the app and one delivery
# worker, then print the one URL to open. Ctrl-C stops everything this script started.
#
# Supervision: a worker that dies is restarted (said on the terminal and in its log), at most
# MAX_RESTARTS times a minute; when the app or the sandbox dies, the script says which, why (its
# exit status or signal) and shows the end of its log, then stops the others and exits 1.
# Logs (DATA_DIR/sandbox.log, app.log, worker.log) are 0600, appended across runs, and rotated
# to *.log.1 at start once they pass 10 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # every file and folder made here (logs, keys, databases) is the user's alone

HOST=${HOST:-127.0.0.1}
APP_PORT=${APP_PORT:-8000}
EHR_PORT=${EHR_PORT:-8001}
CLINIC_PORT=${CLINIC_PORT:-8002}
DATA_DIR=${DATA_DIR:-.data}
APP_URL="http://${HOST}:${APP_PORT}"
MAX_RESTARTS=5
ROTATE_BYTES=$((10 * 1024 * 1024))

export SANDBOX_HOST="$HOST" SANDBOX_EHR_PORT="$EHR_PORT" SANDBOX_CLINIC_PORT="$CLINIC_PORT"
export SANDBOX_DATA_DIR="${SANDBOX_DATA_DIR:-$DATA_DIR/sandbox}"
export SANDBOX_APP_LAUNCH_URL="${APP_URL}/launch"
export SANDBOX_APP_REDIRECT_URIS="${APP_URL}/callback"
export SANDBOX_APP_JWKS_URL="${APP_URL}/.well-known/jwks.json"
export SANDBOX_FHIR_BASE_URL="http://${HOST}:${EHR_PORT}/fhir"
# SMART_APP_FRAMED=true make run: the app's cookie is SameSite=None; Secure; Partitioned and the
# sandbox EHR's front page opens the app in a frame, as an EHR's chart would.
export SANDBOX_APP_FRAMED="${SMART_APP_FRAMED:-false}"
export SANDBOX_EHR_URL="http://${HOST}:${EHR_PORT}"  # the CDS client's iss and JWKS (registrations/sandbox.toml)
export SMART_APP_PUBLIC_URL="${SMART_APP_PUBLIC_URL:-$APP_URL}"
export SMART_APP_DATABASE_URL="${SMART_APP_DATABASE_URL:-sqlite:///$DATA_DIR/smart_app.sqlite3}"
mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"
# the data key that seals tokens and PHI at rest: generated once, mode 0600, never a built-in default
if [ -z "${SMART_APP_DATA_KEYS:-}" ]; then
  .venv/bin/python -m smart_app data-key "$DATA_DIR/data.key"
  SMART_APP_DATA_KEYS="$(cat "$DATA_DIR/data.key")"
  export SMART_APP_DATA_KEYS
fi
export SANDBOX_CLINIC_FHIR_BASE_URL="http://${HOST}:${CLINIC_PORT}/fhir"  # launch/receivers/sandbox-clinic.toml
# The app's signing key for SMART Backend Services (the clinic trusts its JWKS URL); kept across runs.
export SMART_APP_SIGNING_KEY_FILES="${SMART_APP_SIGNING_KEY_FILES:-$DATA_DIR/app-signing-key.pem}"

SANDBOX_LOG="$DATA_DIR/sandbox.log" APP_LOG="$DATA_DIR/app.log" WORKER_LOG="$DATA_DIR/worker.log"
declare -A part_of=()  # pid → sandbox | app | worker, for every process still running
restarts=()  # when the worker was last restarted (seconds since the epoch)

cleanup() {
  trap - INT TERM EXIT
  for pid in "${!part_of[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

# A log of ours: rotated once past ROTATE_BYTES, then opened for appending, mode 0600.
open_log() {
  if [ -f "$1" ] && [ "$(stat -c %s "$1")" -gt "$ROTATE_BYTES" ]; then mv -f "$1" "$1.1"; fi
  touch "$1"
  chmod 600 "$1"
  echo "$(date -u +%FT%TZ) run-local: started (sandbox ${EHR_PORT}/${CLINIC_PORT}, app ${APP_PORT})" >>"$1"
}

# "exit status 3", or "killed by SIGKILL" for a status above 128 (bash: 128 + the signal number).
why() {
  if [ "$1" -gt 128 ] && name=$(kill -l "$(($1 - 128))" 2>/dev/null); then
    echo "killed by SIG${name}"
  else
    echo "exit status $1"
  fi
}

label() { case "$1" in sandbox) echo "sandbox EHR" ;; app) echo "app (gunicorn)" ;; *) echo "delivery worker" ;; esac; }
log_of() { case "$1" in sandbox) echo "$SANDBOX_LOG" ;; app) echo "$APP_LOG" ;; *) echo "$WORKER_LOG" ;; esac; }

stopped() {  # the part that died, its status: say which, why, and the end of its log; exit 1
  local log
  log=$(log_of "$1")
  echo "The $(label "$1") stopped ($(why "$2")); stopping everything. The end of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

start_worker() {
  .venv/bin/flask --app smart_app deliver --loop >>"$WORKER_LOG" 2>&1 &
  part_of[$!]=worker
}

restart_worker() {  # the worker died with status $1: start it again, unless it keeps dying
  local now recent=()
  now=$(date +%s)
  for at in "${restarts[@]}"; do
    if [ $((now - at)) -lt 60 ]; then recent+=("$at"); fi
  done
  restarts=("${recent[@]}")
  if [ "${#restarts[@]}" -ge "$MAX_RESTARTS" ]; then
    echo "The delivery worker stopped $((MAX_RESTARTS + 1)) times within a minute." >&2
    stopped worker "$1"
  fi
  restarts+=("$now")
  local message="The delivery worker stopped ($(why "$1")); restarting it."
  echo "$message" >&2
  echo "$(date -u +%FT%TZ) run-local: $message" >>"$WORKER_LOG"
  sleep 1  # a worker that cannot start at all is not restarted in a tight loop
  start_worker
}

sandbox_ready() { tail -n "+$((sandbox_lines + 1))" "$SANDBOX_LOG" | grep -q "Sandbox EHR ready"; }
app_ready() { curl -fsS "${APP_URL}/healthz" >/dev/null 2>&1; }

wait_ready() {  # part, pid, seconds, test: until the test passes, or the part dies
  local part=$1 pid=$2 seconds=$3 ready=$4 status
  for _ in $(seq 1 $((seconds * 10))); do
    if "$ready"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" || status=$?
      unset "part_of[$pid]"
      echo "The $(label "$part") did not start." >&2
      stopped "$part" "$status"
    fi
    sleep 0.1
  done
  echo "The $(label "$part") did not start in ${seconds} s; the end of $(log_of "$part"):" >&2
  tail -n 20 "$(log_of "$part")" >&2
  exit 1
}

.venv/bin/python -m smart_app signing-key "${SMART_APP_SIGNING_KEY_FILES%% *}" >/dev/null
for log in "$SANDBOX_LOG" "$APP_LOG" "$WORKER_LOG"; do open_log "$log"; done
sandbox_lines=$(wc -l <"$SANDBOX_LOG")  # this run's ready line comes after these
launch/.venv/bin/python -m sandbox_ehr >>"$SANDBOX_LOG" 2>&1 &
sandbox_pid=$!
part_of[$sandbox_pid]=sandbox
wait_ready sandbox "$sandbox_pid" 60 sandbox_ready

.venv/bin/gunicorn -c python:smart_app.gunicorn_conf --bind "${HOST}:${APP_PORT}" \
  "smart_app:create_app()" >>"$APP_LOG" 2>&1 &
app_pid=$!
part_of[$app_pid]=app
wait_ready app "$app_pid" 30 app_ready

# One delivery worker: sends queued referrals to the clinic and follows their Tasks.
start_worker

echo
echo "Second Opinion is running."
echo "Open the sandbox EHR and click \"Launch Second Opinion\":  http://${HOST}:${EHR_PORT}/"
echo "The second-opinion physician's EHR: http://${HOST}:${CLINIC_PORT}/"
echo "(app: ${APP_URL}/  ·  logs: ${APP_LOG}, ${SANDBOX_LOG}, ${WORKER_LOG}  ·  Ctrl-C stops everything)"

while true; do
  died="" status=0
  wait -n -p died "${!part_of[@]}" || status=$?
  [ -n "$died" ] || continue  # a signal woke the wait; its trap has run
  part=${part_of[$died]}
  unset "part_of[$died]"
  if [ "$part" = worker ]; then restart_worker "$status"; else stopped "$part" "$status"; fi
done
