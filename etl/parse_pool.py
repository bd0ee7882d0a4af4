"""How a load parses its files: in turn, on two threads, or in forked worker processes.

Parsing is per file and pure (etl.pipeline.parse_file touches nothing shared but the
normalisers' remembered results, which are the same whoever computes them), so files can be
parsed side by side and staged in their order. Which way (``load_files`` decides per load):

- **worker processes** (:func:`parse_processes`): a load of eight files or more, on a machine
  with two cores or more, in a process that may fork (only its main thread runs Python: the CLI,
  the benchmarks). A workbook's parsing is mostly Python (headers, regions, normalising), which
  threads would run one at a time under the interpreter lock; forked workers run it on every
  core, and the files' results (Arrow tables, rejects) come back pickled. The workers are forked
  before the load opens its database, so they inherit no connection;
- **two threads** (:func:`parse_workers`): a big load (16 MiB and up) where forking is not safe,
  as in the dashboard server: most of a big CSV's parsing runs outside the interpreter lock;
- **in turn** on the caller's thread: everything else (an upload of a few files on 数据上报).

The results are the same whichever way (tests/test_parse_pool.py; the oracle tests load the
sample both ways).
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from etl.limits import Limits
from etl.pipeline import ParsedFile, parse_file
from etl.reference import Reference

Work = tuple[Path, bytes | None, str | None]  # (path, its bytes, their content hash)
log = logging.getLogger(__name__)

PARSE_AHEAD_BYTES = 16 * 2**20  # a load of this many bytes parses its files on two threads
PROCESS_FILES = 8  # a load of this many files or more parses them in worker processes (where it may fork)
PROCESSES_MAX = 4  # the loader stages every worker's results on one thread: more would wait on it
AHEAD = 4  # files in flight per worker: a big file does not leave the other workers idle
THREAD_AHEAD = 8  # files in flight per parse thread: staging a big file (InsertAhead) leaves no thread idle


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def may_fork() -> bool:
    """Whether this process may fork parse workers: fork exists here, no other Python thread runs (a
    lock another thread held at the fork would stay held in the child for ever) and this is no
    daemon process (which may not have children)."""
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and threading.current_thread() is threading.main_thread()
            and not multiprocessing.current_process().daemon)


def parse_processes(work: list[Work], cores_: int | None = None, fork_ok: bool | None = None) -> int:
    """Worker processes that parse a load's files: one per core (at most four) for a load of eight
    files or more on two cores or more, where this process may fork; else none.

    Not for big CSVs (16 MiB of them and more): two threads already overlap their parsing (most of
    it runs outside the interpreter lock), and their large results cost as much to send back as the
    workers save (100× sample, 3 interleaved pairs: 0.85–0.99 of the threads' speed, 10 % more CPU)."""
    cores_ = cores_ or cores()
    fork_ok = may_fork() if fork_ok is None else fork_ok
    if not fork_ok or cores_ < 2 or len(work) < PROCESS_FILES:
        return 0
    csv_bytes = sum(len(data) for path, data, _ in work if data is not None and Path(path).suffix.lower() == ".csv")
    if csv_bytes >= PARSE_AHEAD_BYTES:
        return 0
    return min(cores_, PROCESSES_MAX)


def parse_workers(work: list[Work], cores_: int | None = None) -> int:
    """Threads that parse a load's files: two for a big load (at 10× the sample's CSVs and up,
    on a machine with two cores or more), else none (the caller's thread parses them in turn).

    Most of a big CSV's parsing runs outside the GIL (Arrow's reader and compute functions,
    DuckDB's id hashes), so a second file parses while the first one's Python steps run. A
    workbook load stays on one thread: its files are small and mostly Python."""
    cores_ = cores_ or cores()
    size = sum(len(data) for _, data, _ in work if data is not None)
    return 2 if cores_ >= 2 and size >= PARSE_AHEAD_BYTES else 0


_CHILD: dict[str, object] = {}  # a worker's load settings (set once per forked worker)


def _child_init(ref: Reference, today: date | None, limits: Limits | None) -> None:
    """A worker's start: the load's settings; Ctrl-C is the loader's to handle (it stops the
    workers), and a SIGTERM ends a worker at once, without a traceback on the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _CHILD.update(ref=ref, today=today, limits=limits)


def _child_parse(path: Path, data: bytes | None, digest: str | None) -> ParsedFile:
    """One file parsed in a worker, with the load's settings."""
    return parse_file(path, _CHILD["ref"], today=_CHILD["today"], data=data, digest=digest,  # type: ignore[arg-type]
                      limits=_CHILD["limits"])  # type: ignore[arg-type]


def _ready() -> int:
    """The first task: it makes the pool fork its workers (and says which process ran it)."""
    return os.getpid()


class ProcessPool:
    """Forked parse workers of one load (:func:`process_pool`)."""

    def __init__(self, executor: ProcessPoolExecutor, processes: int) -> None:
        self.executor = executor
        self.processes = processes
        self._early: dict[int, Future] = {}  # id(item) -> its future, for items sent by start()

    def start(self, work: list[Work]) -> None:
        """Send the first files now: the workers parse them while the loader opens its database."""
        for item in work[:AHEAD * self.processes]:
            self._early[id(item)] = self.executor.submit(_child_parse, *item)

    def close(self) -> None:
        """Stop the workers once every file is parsed (the loader's database work needs the cores)."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, item: Work) -> Future:
        """The future of ``item``'s result (the one start() made, if it sent this very item)."""
        early = self._early.pop(id(item), None)
        return early if early is not None else self.executor.submit(_child_parse, *item)


@contextmanager
def process_pool(processes: int, ref: Reference, today: date | None,
                 limits: Limits | None) -> Iterator[ProcessPool | None]:
    """Fork ``processes`` parse workers now, before the caller opens its database (the children
    inherit no connection), and stop them on the way out; None when ``processes`` is 0 or they
    cannot start (the files are then parsed in turn)."""
    if processes <= 0:
        yield None
        return
    executor: ProcessPoolExecutor | None = None
    frozen = gc.get_freeze_count() == 0
    if frozen:  # the workers' collector never walks (and so never copies) the loader's objects
        gc.freeze()
    try:
        executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_child_init, initargs=(ref, today, limits))
        executor.submit(_ready).result()  # the first task forks every worker (the fork context's way)
        started = True
    except Exception:  # noqa: BLE001 - no workers (no semaphores, out of processes or memory): in turn
        log.warning("parse workers did not start; parsing in turn", exc_info=True)
        started = False
    finally:
        if frozen:
            gc.unfreeze()  # (the loader itself collects as before)
    if not started:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        yield None
        return
    try:
        yield ProcessPool(executor, processes)
    finally:  # a load stopped half-way (an error, SIGTERM) waits for no file it will not stage
        executor.shutdown(wait=True, cancel_futures=True)


def parse_in_order(work: Iterable[Work], parse: Callable[..., ParsedFile], workers: int = 0,
           pool: ProcessPool | None = None) -> Iterator[ParsedFile]:
    """parse(*item) of every item, in order: in ``pool``'s processes, on ``workers`` threads, or in turn.

    At most AHEAD files per worker process (THREAD_AHEAD per thread) are in flight; the loader's
    progress bar counts a file when its result is staged. A file whose worker died (killed, out of memory) or whose result
    could not come back is parsed here instead, so the load goes on with the same rows."""
    if pool is not None:
        pending: deque = deque()
        for item in work:
            pending.append((item, pool.submit(item)))
            if len(pending) >= AHEAD * pool.processes:
                yield _result(*pending.popleft(), parse)
        while pending:
            yield _result(*pending.popleft(), parse)
        return
    if not workers:
        for item in work:
            yield parse(*item)
        return
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parse")
    try:
        ahead: deque = deque()
        for item in work:
            ahead.append(threads.submit(parse, *item))
            if len(ahead) >= THREAD_AHEAD * workers:  # the threads go on parsing while the caller stages a result
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def _result(item: Work, future: Future, parse: Callable[..., ParsedFile]) -> ParsedFile:
    """A worker's result for ``item``, or the file parsed here when the worker could not give it."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - BrokenProcessPool, a result that did not unpickle
        log.warning("a parse worker failed on %s; parsing it in the loader", item[0], exc_info=True)
        return parse(*item)
