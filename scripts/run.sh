#!/usr/bin/env bash
# Start the dashboard. Without WORKTRACK_DB it runs in demo mode on data/demo.duckdb,
# loading the demo data first when that database is empty.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
umask 077  # from here on: the database, its write-ahead log and the users file are the owner's alone
if [ -z "${WORKTRACK_DB:-}" ]; then
  export WORKTRACK_DB="data/demo.duckdb"
  export WORKTRACK_DEMO=1
  if .venv/bin/python -c "import worktrack.demo" 2>/dev/null; then
    .venv/bin/python -m worktrack --db "$WORKTRACK_DB" demo --if-empty
  fi
fi
# scripts/serve.py is `streamlit run dashboard.py` with the unauthenticated /_stcore/metrics endpoint closed
exec .venv/bin/python scripts/serve.py --server.port "${PORT:-8501}" "$@"
