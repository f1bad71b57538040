# Two commands do everything on a fresh machine with Python 3.11+:
#   make run   - set up, then open the dashboard on the bundled simulator
#   make test  - set up, then run the whole test suite (browser tests included)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: run test test-fast lint bench chromium clean lock notebooks

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --server.port $(PORT)

# JupyterLab for analysts (not needed by the tests, which execute the notebooks with nbclient).
notebooks: $(STAMP)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev,notebooks]'
	$(PY) -m jupyter lab notebooks/

chromium:
	@bash scripts/ensure-chromium.sh

# Both test targets spread the tests over the machine's cores (pytest-xdist); whole files stay on one worker in
# `test`, so each browser test file starts one Streamlit server.
test: $(STAMP) chromium
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow and not browser and not integration"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check dashboard tests

bench: $(STAMP) chromium
	$(PY) -m bench

# Re-pin every dependency to what is installed now (after changing pyproject.toml).
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^khoros-care-dashboard' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
