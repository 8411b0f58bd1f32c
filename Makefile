# The two set-up commands of the README. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate, start the embedded AWS emulator and serve on 127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/python manage.py run_embedded

## test: run the whole test suite (SQLite unless DATABASE_URL is set)
test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
