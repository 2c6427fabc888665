# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv dev worker bench clean screenshots lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs take only the locked versions, each checked against its hash.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Re-lock after changing requirements.in or requirements-dev.in: every transitive dependency,
# pinned with its hashes (pip-tools, in a venv of its own so it never mixes with the app's).
LOCK := pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links
lock:
	test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && \
		.venv-lock/bin/pip install -q pip-tools==7.6.2)
	.venv-lock/bin/$(LOCK) --output-file=requirements.txt requirements.in
	.venv-lock/bin/$(LOCK) --output-file=requirements-dev.txt requirements-dev.in

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
	rm -rf $(VENV) .venv-lock .pytest_cache
