# DarkHorses: two commands set everything up on a fresh machine.
#   make demo  - backfill two recent months from the bundled Racing API simulator into SQLite
#   make test  - the full test suite (installs the pinned Supabase CLI into .tools/ first, if npm is there),
#                after `make lint`: the import contracts (.importlinter) and ruff (ruff.toml)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUPABASE_CLI_VERSION := 2.117.0
SUPABASE_CLI := .tools/supabase-cli/node_modules/.bin/supabase
DEMO_END   := $(shell date -d 'yesterday' +%F 2>/dev/null)
DEMO_START := $(shell date -d "61 days ago" +%F 2>/dev/null)

.PHONY: venv supabase-cli lint demo test reliability bench clean-demo

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: venv
	$(PY) scripts/init_db.py --database-url sqlite:///data/demo.db
	$(PY) scripts/backfill_all.py --demo --start-date $(DEMO_START) --end-date $(DEMO_END) --verify
	$(PY) scripts/backfill_report.py --database-url sqlite:///data/demo.db \
		--error-log logs/demo_backfill_events_errors.json --out reports/ --quiet

# The real Supabase CLI for tests/test_migrations_supabase_cli.py (which finds it here). A version check
# when it is already installed; never fails: without npm the test skips (fails on CI).
supabase-cli:
	@if [ "$$($(SUPABASE_CLI) --version 2>/dev/null)" = "$(SUPABASE_CLI_VERSION)" ]; then :; \
	elif command -v npm >/dev/null 2>&1 && npm i -E supabase@$(SUPABASE_CLI_VERSION) --prefix .tools/supabase-cli; then \
	  echo "Supabase CLI $(SUPABASE_CLI_VERSION) installed in .tools/supabase-cli"; \
	else echo "WARNING: could not install the Supabase CLI $(SUPABASE_CLI_VERSION) with npm; tests/test_migrations_supabase_cli.py will skip (fail on CI)"; fi

# The import contracts between the sub-packages of utils/ (.importlinter), then ruff (ruff.toml).
lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .

test: venv supabase-cli lint
	$(PY) -m pytest -q

reliability: venv
	$(PY) -m pytest -q -m reliability tests/reliability

bench: venv
	$(PY) benchmarks/run_all.py

clean-demo:
	rm -f data/demo.db data/demo.db-wal data/demo.db-shm logs/demo_*
