#!/usr/bin/env bash
# Creates (or reuses) .venv at the repository root and installs srdistill into it.
# torch==2.13.0 is installed first on its own: a loose torch requirement on a machine
# without torch would pull the newest CUDA build (several GB).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    .venv/bin/pip install -q --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".[${extras}]"
