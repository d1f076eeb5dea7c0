# Two commands: `make run` serves the whole site, `make test` runs every test.
# Both create and reuse the virtual environment in .venv/, and first check what they need
# from the system (scripts/setup-check.sh): missing Debian packages are installed when
# root or passwordless sudo may; otherwise they stop with the one command to run.
PYTHON ?= python3.11
# The browser tests' Chromium (Debian's package); point it elsewhere to use another.
CHROMIUM ?= $(or $(RECSITE_CHROMIUM),/usr/bin/chromium)
# PyTorch's CPU-only wheels: on plain PyPI, Linux gets the CUDA build (several GB). Used
# only when it answers within 5 s; set it empty to never ask it.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# auto: install missing system packages when allowed; no: never; dry-run: show what it would do.
SYSTEM_INSTALL ?= auto
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SETUP_CHECK = PYTHON='$(PYTHON)' CHROMIUM='$(CHROMIUM)' TORCH_INDEX='$(TORCH_INDEX)' \
	SYSTEM_INSTALL='$(SYSTEM_INSTALL)' VENV='$(VENV)' sh scripts/setup-check.sh

.PHONY: run test install install-locked lock lint clean messages system-run system-test
# The system checks must run before anything else, also under `make -j`.
.NOTPARALLEL:

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $$($(SETUP_CHECK) torch-index) -e '.[test]'
	touch $(STAMP)

install: system-run $(STAMP)

# Reproducible installs: exactly the versions and files of requirements.lock (sha256 each).
install-locked: system-test | $(PY)
	$(PY) -m pip install --quiet --require-hashes $$($(SETUP_CHECK) torch-index) -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Refresh requirements.lock from pyproject.toml (the project and its test extra).
lock: | $(PY)
	$(PY) -m pip install --quiet pip-tools==7.6.2
	$(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe --extra test --strip-extras \
		--no-emit-index-url --no-emit-find-links $$($(SETUP_CHECK) torch-index) -o requirements.lock pyproject.toml

system-run:
	@$(SETUP_CHECK) run

system-test:
	@$(SETUP_CHECK) test

run: system-run $(STAMP)
	$(PY) -m recsite.run

test: system-test $(STAMP)
	RECSITE_CHROMIUM='$(CHROMIUM)' $(PY) -m pytest $(PYTEST_ARGS)

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'staticfiles/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var staticfiles .pytest_cache
