# Fenliu — the two commands:  `make run` (embedded demo on 127.0.0.1:8000)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The suite runs on PostgreSQL with a Redis broker, as this machine kind provides them.
# Override, e.g. `make test TEST_DATABASE_URL=sqlite:///var/test.sqlite3` (PostgreSQL-only tests then skip).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fenliu
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0

.PHONY: install install-dev system-deps run test lint lock messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock

install-dev: install
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock

# Headless Chromium and a CJK font for the browser tests (Debian packages; needs root or sudo).
system-deps:
	@bin/system-deps

run: install
	@bin/system-deps --runtime
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) bin/run-embedded

test: install-dev system-deps
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -p no:cacheprovider --durations=15

lint: install-dev
	$(BIN)/ruff check .

# Regenerate the lock files from pyproject.toml's pins (run after changing a dependency).
lock: $(BIN)/python
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > var/pins.txt
	$(BIN)/pip install -q -r var/pins.txt
	$(BIN)/python bin/split-lock

messages: install
	$(BIN)/python manage.py makemessages -l en -l zh_Hans --ignore=.venv --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv
