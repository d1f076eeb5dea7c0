# Two commands: `make run` serves the whole site, `make test` runs every test.
# Both create and reuse the virtual environment in .venv/.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean messages

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m recsite.run

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'staticfiles/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var staticfiles .pytest_cache
