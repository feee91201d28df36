# The single entry for devtel's commands. Each target installs what it needs.
PY := .venv/bin/python

.PHONY: demo test bench lint clean dist

demo:           ## the main job, end to end, on the embedded SQLite default
	@scripts/bootstrap.sh
	@$(PY) scripts/main_job.py

test:           ## the whole test suite (real MariaDB, SQLite, shells) and the linter
	@scripts/bootstrap.sh system
	$(PY) -m ruff check .
	$(PY) -m pytest tests --ignore=tests/benchmarks

bench:          ## the benchmarks behind the figures in docs/scaling.md
	@scripts/bootstrap.sh system
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider

dist:           ## the wheel laptops install: dist/devtel-<version>-py3-none-any.whl
	@scripts/bootstrap.sh
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

lint:
	@scripts/bootstrap.sh
	$(PY) -m ruff check .

clean:
	rm -rf .venv .devtel-demo .pytest_cache .ruff_cache
