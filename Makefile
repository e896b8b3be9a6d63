# The two commands of the README: `make quickstart` and `make test`.
.PHONY: quickstart test lint bench

quickstart:
	./scripts/bootstrap.sh
	.venv/bin/marketops quickstart demo

test:
	./scripts/bootstrap.sh --test
	.venv/bin/ruff check src tests bench
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
