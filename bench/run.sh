#!/usr/bin/env bash
# One command for the whole benchmark; all options go to run.py (see `bash bench/run.sh --help`).
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
