#!/bin/sh
# Run a command inside the project's virtual environment, .venv at the repository root, creating
# it and installing gdbench (editable, with its test extra) first when needed. Stock Debian 12 and
# Ubuntu 24.04 refuse `pip install` outside a virtual environment, and their python3 needs the
# python3-venv package to create one: as root this script installs it, otherwise it says how.
#   scripts/in_venv.sh snakemake --cores 2 --configfile configs/smoke.yaml
#   scripts/in_venv.sh python -m pytest
set -eu
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "in_venv: python3 cannot create a virtual environment; installing python3-venv" >&2
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv .venv
        else
            echo "in_venv: python3 cannot create a virtual environment; install python3-venv" \
                 "(sudo apt-get install python3-venv) and run this again" >&2
            exit 1
        fi
    fi
fi
. .venv/bin/activate

# Reinstall when the package's dependencies may have changed (pyproject.toml newer than the stamp).
stamp=.venv/.gdbench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "in_venv: installing gdbench and its dependencies into .venv (a few minutes the first time)" >&2
    python -m pip install -q -e '.[test]'
    touch "$stamp"
fi
exec "$@"
