#!/usr/bin/env bash
# Builds the Python package (bindings/python, maturin, dev profile) into a virtual environment
# and runs its tests with pytest: detection, mining, analysis, adapters, stubs against the
# compiled module, and the example notebook (examples/python/incident.ipynb).
#
#   FAULTLINE_VENV   the venv to create or reuse (default: ~/.cache/faultline-venv)
#   FAULTLINE_PYTHON the interpreter that creates it (default: python3.11, else python3)
#   CARGO_TARGET_DIR the cargo target dir (default: ~/.cache/faultline-target, as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
venv="${FAULTLINE_VENV:-$HOME/.cache/faultline-venv}"
py="${FAULTLINE_PYTHON:-$(command -v python3.11 || command -v python3)}"
req=bindings/python/requirements-test.txt

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv with $py"
  "$py" -m venv "$venv"
fi
# Reinstall the pinned requirements only when the list changed.
stamp="$venv/.faultline-requirements"
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  echo "== pip install -r $req"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

echo "== maturin develop (dev profile)"
# Installs the package in editable mode: the extension is built into python/faultline/.
(cd bindings/python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --quiet)

echo "== pytest"
cd bindings/python
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
