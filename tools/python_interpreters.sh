#!/usr/bin/env bash
# The real interpreters of the supported Pythons (3.9 .. 3.13) on this machine, found under pyenv or the system.
#   python_interpreters.sh DIR          link every one found into DIR and print DIR, so ansible-test runs compile
#                                       and import on each
#   python_interpreters.sh --which X.Y  print the interpreter of Python X.Y (exit 1 when there is none), for the
#                                       venvs of the ansible-core matrix (tools/matrix_venv.sh)
# pyenv shims cannot be used: ansible-test filters the environment, the shim loses PYENV_VERSION and exits 127
# (shared/reference/ecosystem.md section 3.2).
set -euo pipefail

real_interpreter() {
  local v=$1 real="" candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python$v /usr/bin/python$v /usr/local/bin/python$v; do
    if [ -x "$candidate" ] && [[ "$candidate" != *shims* ]]; then real=$candidate; fi
  done
  [ -n "$real" ] && echo "$real"
}

if [ "${1:-}" = "--which" ]; then
  v=${2:?usage: python_interpreters.sh --which X.Y}
  real_interpreter "$v" || { echo "Python $v not found under ${PYENV_ROOT:-$HOME/.pyenv}/versions or /usr/bin" >&2; exit 1; }
  exit 0
fi

dir=${1:?usage: python_interpreters.sh DIR | --which X.Y}
mkdir -p "$dir"
for v in 3.9 3.10 3.11 3.12 3.13; do
  if real=$(real_interpreter "$v"); then ln -sfn "$real" "$dir/python$v"; fi
done
echo "$dir"
