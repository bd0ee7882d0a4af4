"""`python -m bench` (the Makefile's `make bench`): the benchmark suite (see bench/suite.py, docs/benchmarks.md).

`python -m bench.etl_bench` still runs the ETL benchmark (1M-row case CSV) alone.
"""
import sys

from bench.suite import main

sys.exit(main(sys.argv[1:]))
