#!/usr/bin/env bash
# Install everything kit needs on a fresh Debian/Ubuntu machine, from the project's own files:
# the apt packages in deps/apt-packages.txt and the pinned Python packages of pyproject.toml
# in .venv/. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
while read -r package; do
  case "$package" in ''|'#'*) continue ;; esac
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done < deps/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# pyproject.toml pins Python 3.11 (>=3.11,<3.12): the pinned TensorFlow/TFLM wheels need it.
python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none; }
python=python3
command -v python3.11 >/dev/null 2>&1 && python=python3.11
found=$(python_version "$python")
if [ "$found" != "3.11" ]; then
  echo "setup: kit needs Python 3.11 ($python is $found)." >&2
  echo "setup: kit needs Python 3.11 (Debian 12 ships it; on Ubuntu install python3.11 python3.11-venv python3.11-dev, e.g. from the deadsnakes PPA)" >&2
  exit 1
fi
if [ -e .venv ] && [ "$(python_version .venv/bin/python)" != "3.11" ]; then
  echo "setup: .venv has Python $(python_version .venv/bin/python), not 3.11: recreating it"
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.kit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv (pinned in pyproject.toml)"
  .venv/bin/python -m pip install -q --upgrade pip
  # llama-cpp-python is built from source: portable code (no -march=native), no CURL, no examples
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip install -q -e ".[onnx,test]"
  touch "$stamp"
fi
# PlatformIO must work offline: give it the local SCons package it would otherwise download.
.venv/bin/kit setup-offline --quiet
echo "setup: done (.venv/bin/kit is ready)"
