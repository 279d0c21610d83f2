# Two commands do all the set-up (see README):  make lab   and   make test
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
DEMO_PORT ?= 8866
# Jupyter refuses to start as root unless told; containers and CI machines often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# Server settings of this project (TCP_NODELAY websockets: see explainer/_websocket.py).
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

# The lessons as apps for a lecture: Voila on 127.0.0.1, code hidden, a landing page listing them.
demo: $(STAMP)
	EXPLAINER_PRESENTATION=1 $(BIN)/voila notebooks --Voila.ip=127.0.0.1 --port=$(DEMO_PORT) --token

test: $(STAMP) browser
	$(BIN)/python -m pytest --nbval-lax

# The README's pictures, exported from the explorers themselves (PNG + animated GIF sweeps).
pictures: $(STAMP)
	$(BIN)/python scripts/make_pictures.py --out docs/images

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
