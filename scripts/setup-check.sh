#!/bin/sh
# What `make test` and `make run` need from the system, checked before anything runs.
#
#   scripts/setup-check.sh test         Python 3.11 with venv, Chromium, gettext, CJK fonts
#   scripts/setup-check.sh run          Python 3.11 with venv
#   scripts/setup-check.sh torch-index  print pip's option for PyTorch's CPU-only index, if reachable
#
# Missing Debian packages are installed when we may (root, or sudo without a password) and
# SYSTEM_INSTALL is "auto" (the default); with SYSTEM_INSTALL=no, or when we may not, it stops
# with one line naming the command to run. SYSTEM_INSTALL=dry-run shows what it would do.
# PYTHON, CHROMIUM and TORCH_INDEX come from the Makefile (and can be set there).
set -eu

PYTHON=${PYTHON:-python3.11}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SYSTEM_INSTALL=${SYSTEM_INSTALL:-auto}
VENV=${VENV:-.venv}
target=${1:-test}

say() { printf 'recsite: %s\n' "$*" >&2; }

# ---- torch-index: PyTorch's CPU wheels, only if its index answers within 5 s ------------
if [ "$target" = torch-index ]; then
  url=${TORCH_INDEX:-}
  [ -n "$url" ] || exit 0
  # The virtual environment's Python: curl may not be installed.
  if "$VENV/bin/python" - "$url" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).close()
PY
  then
    printf -- '--extra-index-url %s\n' "$url"
  else
    say "PyTorch's CPU index ($url) does not answer: pip takes torch from PyPI or PIP_FIND_LINKS."
    say "From plain PyPI that is the multi-GB CUDA build on Linux; set TORCH_INDEX to a reachable copy of that index to avoid it."
  fi
  exit 0
fi

missing=""      # Debian packages to install
what=""         # what they are, in words
need() { missing="$missing $1"; what="$what${what:+, }$2"; }

# Python 3.11 with venv (once .venv exists it is what runs everything)
if [ ! -x "$VENV/bin/python" ]; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    need "python3.11 python3.11-venv" "$PYTHON"
  elif ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    need "python3.11-venv" "the venv module of $PYTHON"
  fi
fi

if [ "$target" = test ]; then
  [ -x "$CHROMIUM" ] || need chromium "Chromium at $CHROMIUM (the browser tests' browser)"
  { command -v msgfmt && command -v xgettext; } >/dev/null 2>&1 || need gettext "gettext (msgfmt, xgettext)"
  if command -v fc-list >/dev/null 2>&1; then
    [ -n "$(fc-list :lang=zh family 2>/dev/null | head -1)" ] || need fonts-noto-cjk "Chinese fonts (for the zh-Hans pages' screenshots)"
  elif command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" \
      || need fonts-noto-cjk "Chinese fonts (for the zh-Hans pages' screenshots)"
  fi
fi

[ -n "$missing" ] || exit 0
missing=${missing# }

if ! command -v apt-get >/dev/null 2>&1; then
  say "missing: $what. Install them with your system's package manager (or set PYTHON / CHROMIUM to where they are), then run \`make $target\` again."
  exit 1
fi

if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  sudo="sudo "
else
  sudo="none"
fi
command_line="${sudo#none}apt-get update && ${sudo#none}apt-get install -y $missing"
[ "$sudo" = none ] && command_line="sudo apt-get update && sudo apt-get install -y $missing"

case "$SYSTEM_INSTALL" in
  dry-run)
    say "missing: $what. Would run: $command_line"
    ${sudo#none}apt-get install -s $missing 2>/dev/null | grep -E '^(Inst |Conf |[0-9]+ upgraded)' | head -20 >&2 || true
    say "dry run: nothing was installed."
    exit 1 ;;
  auto)
    if [ "$sudo" = none ]; then
      say "missing: $what. Run \`$command_line\`, then \`make $target\` again."
      exit 1
    fi ;;
  *)
    say "missing: $what. Run \`$command_line\`, then \`make $target\` again."
    exit 1 ;;
esac

say "missing: $what. Installing: $command_line"
# shellcheck disable=SC2086
if ! { ${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq $missing >/dev/null; }; then
  say "could not install $missing (above: why). Run \`$command_line\` once it can, then \`make $target\` again."
  exit 1
fi
if [ "$target" = test ] && [ ! -x "$CHROMIUM" ]; then
  say "Chromium was installed, but CHROMIUM=$CHROMIUM still is not there: run \`make $target CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)\`."
  exit 1
fi
