#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (SQLite unless KPIBOT_TEST_DATABASE_URL is set).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
bin="$root/.venv/bin"
"$bin/ruff" check .
"$bin/mypy" bot knowledge scoring db tests benchmarks scripts
"$bin/python" -m pytest -q -n "${KPIBOT_TEST_WORKERS:-auto}" "$@"
