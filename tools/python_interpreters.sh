#!/usr/bin/env bash
# Put the real interpreters of every supported Python (3.9 .. 3.13) found on this machine into one directory and
# print it, so ansible-test runs compile and import on each. pyenv shims cannot be used: ansible-test filters the
# environment, the shim loses PYENV_VERSION and exits 127 (shared/reference/ecosystem.md section 3.2).
set -euo pipefail
dir=${1:?usage: python_interpreters.sh DIR}
mkdir -p "$dir"
for v in 3.9 3.10 3.11 3.12 3.13; do
  real=""
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python$v /usr/bin/python$v /usr/local/bin/python$v; do
    if [ -x "$candidate" ] && [[ "$candidate" != *shims* ]]; then real=$candidate; fi
  done
  if [ -n "$real" ]; then ln -sfn "$real" "$dir/python$v"; fi
done
echo "$dir"
