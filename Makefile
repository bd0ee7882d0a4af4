# Two entry points for a fresh Debian machine (see README): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji
# slides to PDF (LibreOffice headless) and PDF checks (pdftotext, pdftoppm): without recommends (no GUI)
APT_NORECOMMENDS := libreoffice-impress-nogui poppler-utils
PORT ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: run test setup sysdeps sample db bench clean

## Set up (Python packages, chromium, CJK fonts, LibreOffice) and start the dashboard on the bundled sample data (built on first use).
run: setup sysdeps
	$(BIN)/python -m chuangshu.serve --server.headless true --server.address $(ADDRESS) \
	    --server.port $(PORT) --browser.gatherUsageStats false

## Set up (Python packages, Debian's chromium and CJK fonts) and run the whole test suite.
test: setup sysdeps
	$(BIN)/python -m pytest -n 2 --dist loadfile

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

sysdeps:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "Noto Sans CJK" \
	    && command -v soffice >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then \
	    echo "chromium, fonts-noto-cjk, LibreOffice and poppler-utils present"; \
	else \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_NORECOMMENDS); \
	fi

## Regenerate the sample ledgers and rebuild the database from them.
db: setup
	$(BIN)/python -m etl ensure-sample --force

bench: setup sysdeps
	$(BIN)/python -m bench

clean:
	rm -rf data/sample data/*.duckdb tests/artifacts bench/out
