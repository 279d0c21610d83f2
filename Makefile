# Two commands do all the set-up (see README):  make lab   and   make test
# The interpreter for the virtual environments: PYTHON=... when given (checked: 3.11 or newer), else the
# newest of python3.13, python3.12, python3.11 and python3 that is 3.11 or newer (scripts/pick_python,
# which says in one sentence what it found when none is).
PYTHON ?=
PICK_PYTHON = $(SHELL) scripts/pick_python $(PYTHON)
# torch, CPU build, first (constraints.txt pins it). A wheel pip finds without any index (its find-links,
# as on the machines this project is developed on) is taken as it is. Otherwise pip takes torch from
# TORCH_INDEX: on Linux (WSL included) PyTorch's CPU wheel index by default, since PyPI's Linux wheel is a
# CUDA build of several GB; on macOS PyPI itself, whose wheels are CPU builds. TORCH_INDEX= (empty) means
# PyPI, or whatever index pip is configured with. torch's own dependencies come from PyPI afterwards.
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),https://download.pytorch.org/whl/cpu)
define install_torch
$(1)/bin/python -m pip install --quiet --no-index --no-deps -c constraints.txt torch 2>/dev/null \
	  || $(1)/bin/python -m pip install --quiet --no-deps -c constraints.txt $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch
	$(1)/bin/python -m pip install --quiet -c constraints.txt torch
endef
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
DEMO_PORT ?= 8866
# Jupyter refuses to start as root unless told; containers and CI machines often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# Server settings of this project (TCP_NODELAY websockets: see explainer/paint/websocket.py).
export JUPYTER_CONFIG_PATH := $(CURDIR)/jupyter_config

.PHONY: lab demo test setup browser pictures clean which-python

# Re-runs only when the dependency files change, so a second `make` is instant.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || { python=$$($(PICK_PYTHON)) && $$python -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(call install_torch,$(VENV))
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The interpreter a new .venv would be made with, and its version (or the sentence saying none fits).
which-python:
	@python=$$($(PICK_PYTHON)) && echo "$$python: Python $$($$python -c 'import sys; print(sys.version.split()[0])')"

# The other end of every dependency range: a throwaway environment with each runtime dependency at its
# declared minimum (scripts/oldest_constraints.py), where the paint, view and explorer tests run too.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
$(OLDEST_STAMP): pyproject.toml constraints.txt scripts/oldest_constraints.py
	test -x $(OLDEST)/bin/python || { python=$$($(PICK_PYTHON)) && $$python -m venv $(OLDEST); }
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(call install_torch,$(OLDEST))
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
# course page (title, line and thumbnail per lesson); both set up by jupyter_config/voila.py. Each
# lesson has a preheated kernel (Voila's pool, filled when the server starts; the refills run at the
# lowest CPU priority, see voila.py), so a click shows a lesson that has already run. Preheating
# excludes progressive rendering. benchmarks/lesson_open.py and tests/test_lecture_mode.py use DEMO_FLAGS.
DEMO_FLAGS := --preheat_kernel=True --pool_size=1
demo: $(STAMP)
	EXPLAINER_PRESENTATION=1 $(BIN)/voila notebooks --Voila.ip=127.0.0.1 --port=$(DEMO_PORT) $(DEMO_FLAGS) --token

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
