#!/usr/bin/env bash
# Regenerate the committed reference models models/<lab>/{model.tflite,model.keras,card.json,card.md}:
# each lab trained by `kit train` with the default seed, exactly as a student's laptop would.
# Usage: scripts/make_reference_models.sh [LAB ...]   (default: every lab in labs/)
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.venv/bin/kit
if [ "$#" -gt 0 ]; then labs=("$@"); else labs=(); for f in labs/*/lab.toml; do labs+=("$(basename "$(dirname "$f")")"); done; fi
for lab in "${labs[@]}"; do
  echo "== $lab"
  "$kit" train "$lab" --seed 0 --out "models/$lab"
done
"$kit" models
