# Amanat: `make demo` to try it, `make test` to check it. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ENV := DEBUG=true
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install demo serve test test-postgres lint browsers assets messages bench clean

$(BIN)/amanat: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/amanat

demo: install
	$(DEMO_ENV) $(BIN)/amanat migrate --noinput
	$(DEMO_ENV) $(BIN)/amanat load-demo
	@echo ""
	@echo "Amanat is running at http://127.0.0.1:8000/  (log in with the demo logins above; Ctrl-C stops it)"
	@# The task worker (reminders, escalation) runs beside the web server and stops with it.
	@bash -c '$(DEMO_ENV) $(BIN)/amanat run_huey > var/tasks.log 2>&1 & worker=$$!; \
	  trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	  $(DEMO_ENV) $(BIN)/amanat runserver 127.0.0.1:8000'


# The whole suite, on SQLite, or on PostgreSQL when DATABASE_URL is set.
test: install browsers
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	DATABASE_URL=$(PG_URL) $(MAKE) test

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	AMANAT_ALLOW_INSECURE_KEY=true $(BIN)/mypy amanat
	DEBUG=true $(BIN)/amanat makemigrations --check --dry-run

# Browser tests drive Debian's Chromium; install it when missing and we are allowed to.
browsers:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' for the browser tests"; fi; \
	fi

# Refresh the vendored front-end files from the npm registry (needs Node.js; results are committed).
assets:
	npm install --no-audit --no-fund
	mkdir -p amanat/ui/static/vendor/htmx amanat/ui/static/vendor/vazirmatn amanat/ui/static/vendor/jalalidatepicker
	cp node_modules/htmx.org/dist/htmx.min.js amanat/ui/static/vendor/htmx/
	cp node_modules/vazirmatn/fonts/webfonts/Vazirmatn-Regular.woff2 node_modules/vazirmatn/fonts/webfonts/Vazirmatn-Medium.woff2 node_modules/vazirmatn/fonts/webfonts/Vazirmatn-Bold.woff2 node_modules/vazirmatn/OFL.txt amanat/ui/static/vendor/vazirmatn/
	cp node_modules/@majidh1/jalalidatepicker/dist/jalalidatepicker.min.js node_modules/@majidh1/jalalidatepicker/dist/jalalidatepicker.min.css amanat/ui/static/vendor/jalalidatepicker/
	mkdir -p amanat/ui/static/vendor/altcha
	cp node_modules/altcha/dist/main/altcha.i18n.min.js node_modules/altcha/LICENSE.txt amanat/ui/static/vendor/altcha/

# Re-extract translatable strings and compile the catalogue (needs GNU gettext).
messages: install
	cd amanat && DEBUG=true ../$(BIN)/amanat makemessages -l fa --no-obsolete --no-location
	cd amanat && DEBUG=true ../$(BIN)/amanat makemessages -d djangojs -l fa --no-obsolete --no-location
	cd amanat && DEBUG=true ../$(BIN)/amanat compilemessages -l fa

bench: install
	DATABASE_URL=$(PG_URL) $(BIN)/python bench/bench_geography.py

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
