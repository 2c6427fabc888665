# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv dev worker bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime
dev: $(VENV)/.dev

# The local trial: SQLite in instance/, scheduler inside, loopback receivers allowed.
run: venv
	$(BIN)/flask db upgrade
	WEBHOOKS_ALLOWED_HOSTS=$${WEBHOOKS_ALLOWED_HOSTS:-external,loopback} \
		$(BIN)/flask run --host $(HOST) --port $(PORT)

worker: venv
	$(BIN)/flask worker

test: dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n $${PYTEST_WORKERS:-4} --dist worksteal $(PYTEST_ARGS)

# Re-take the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: dev
	WEBHOOKS_SCREENSHOTS=1 $(BIN)/pytest tests/browser -q

bench: dev
	$(BIN)/python -m bench.all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
