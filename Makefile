# Two commands do all the set-up (see README):  make lab   and   make test
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
DEMO_PORT ?= 8866
# Jupyter refuses to start as root unless told; containers and CI machines often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# Server settings of this project (TCP_NODELAY websockets: see explainer/paint/websocket.py).
export JUPYTER_CONFIG_PATH := $(CURDIR)/jupyter_config

.PHONY: lab demo test setup browser pictures clean

# Re-runs only when the dependency files change, so a second `make` is instant.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The other end of every dependency range: a throwaway environment with each runtime dependency at its
# declared minimum (scripts/oldest_constraints.py), where the paint, view and explorer tests run too.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
$(OLDEST_STAMP): pyproject.toml constraints.txt scripts/oldest_constraints.py
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -c constraints.txt torch
	$(OLDEST)/bin/python scripts/oldest_constraints.py > $(OLDEST)/constraints.txt
	$(OLDEST)/bin/python -m pip install --quiet -c constraints.txt -c $(OLDEST)/constraints.txt -e '.[test]'
	touch $(OLDEST_STAMP)

# What the dependency ranges and the stock switch (EXPLAINER_STOCK_PAINT) must hold for; at the oldest
# dependencies also one lesson in the browser, served by the oldest JupyterLab and Voila.
PAINTED_TESTS := tests/test_paint*.py tests/test_views_*.py tests/test_explorer_*.py tests/test_kit.py \
                 tests/test_export.py tests/test_websocket.py tests/test_private_api.py
OLDEST_BROWSER_TESTS := tests/browser/test_notebooks_in_lab.py tests/browser/test_notebooks_in_voila.py -k 01_convolution

# Debian's Chromium drives the browser tests through the playwright package (no downloaded browser).
# Without it they are skipped with the reason, except under CI=true, where they fail.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser tests will not run"; \
	  else echo "chromium not found and apt-get unavailable (needs root): the browser tests will not run"; fi; }

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --notebook-dir=notebooks $(ROOT_FLAG)

# The lessons as apps for a lecture: Voila on 127.0.0.1, code and check cells hidden, opening on the
# course page (title, line and thumbnail per lesson); both set up by jupyter_config/voila.py.
demo: $(STAMP)
	EXPLAINER_PRESENTATION=1 $(BIN)/voila notebooks --Voila.ip=127.0.0.1 --port=$(DEMO_PORT) --token

# The whole suite; then the painted tests with only public matplotlib API (stock paint), and with the
# oldest dependencies the ranges allow.
test: $(STAMP) $(OLDEST_STAMP) browser
	$(BIN)/python -m pytest --nbval-lax
	EXPLAINER_STOCK_PAINT=1 $(BIN)/python -m pytest -q $(PAINTED_TESTS)
	$(OLDEST)/bin/python -m pytest -q $(PAINTED_TESTS)
	$(OLDEST)/bin/python -m pytest -q $(OLDEST_BROWSER_TESTS)

# The README's pictures, exported from the explorers themselves in the presentation preset (PNG + GIF sweeps).
pictures: $(STAMP)
	$(BIN)/python scripts/make_pictures.py --presentation --out docs/images

clean:
	rm -rf $(VENV) $(OLDEST) .pytest_cache .hypothesis
