#!/usr/bin/env bash
# Prepare a fresh machine for devtel's commands: a virtual environment with
# every extra installed, and the system services and shells the tests use.
# Safe to run again: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_system="${1:-}"   # "system": also the shells, strace, promtool and MariaDB the tests need
venv=.venv
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$venv/.devtel-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing devtel[all,test] into $venv" >&2
    "$venv/bin/python" -m pip install --quiet -e '.[all,test]'
    touch "$stamp"
fi

[ "$want_system" = "system" ] || exit 0

missing=()
command -v chromium >/dev/null || missing+=(chromium)  # opens `devtel-agent report --html` pages in tests
command -v zsh >/dev/null || missing+=(zsh)
command -v fish >/dev/null || missing+=(fish)
command -v strace >/dev/null || missing+=(strace)  # the shell hook's no-fork test
command -v promtool >/dev/null || missing+=(prometheus)
command -v wrk >/dev/null || missing+=(wrk)  # the HTTP load generator of `make bench`
command -v systemd-analyze >/dev/null || missing+=(systemd)  # `systemd-analyze verify` of the agent's unit
command -v plistutil >/dev/null || missing+=(libplist-utils)  # reads the agent's launchd plist on Linux
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bootstrap: installing ${missing[*]} with apt-get" >&2
        # Another install may hold dpkg's lock: wait for it rather than fail.
        apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "bootstrap: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    fi
fi

# MariaDB: start it when it is installed but not answering.
if [ -x /usr/sbin/mariadbd ] && ! mysqladmin --user=root --host=127.0.0.1 ping >/dev/null 2>&1; then
    echo "bootstrap: starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do
        mysqladmin --user=root --host=127.0.0.1 ping >/dev/null 2>&1 && break
        sleep 0.5
    done
fi

# The real AI coding CLIs the tests drive (tests/ai_clis/), at the versions package-lock.json pins.
clis=tests/ai_clis
if command -v npm >/dev/null; then
    if [ ! -f "$clis/node_modules/.devtel-installed" ] || [ "$clis/package-lock.json" -nt "$clis/node_modules/.devtel-installed" ]; then
        echo "bootstrap: installing the AI CLIs of $clis/package-lock.json with npm ci" >&2
        (cd "$clis" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        touch "$clis/node_modules/.devtel-installed"
    fi
else
    echo "bootstrap: npm is missing; the AI CLI tests need Node.js 20+ and npm (Debian: apt-get install nodejs npm)" >&2
fi
