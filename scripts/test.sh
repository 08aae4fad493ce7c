#!/usr/bin/env bash
# Install everything (Python packages, chromium and CJK fonts) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
exec .venv/bin/python -m pytest "$@"
