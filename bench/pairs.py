"""Ratios from interleaved runs: ours and the reference take turns, each run in a fresh interpreter.

On a shared machine one contender's time swings by 2–4× between runs (docs/benchmarks.md), so a
ratio of two separately taken bests can land anywhere. Here every round runs every contender
once, one after the other (the order rotates from round to round, so neither always runs first),
and each round gives one ratio per contender against the reference of that same round: whatever
load the machine had then, both felt it. Reported: the median of the per-round ratios and their
spread (lowest–highest), with the load average at the start of each round.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

Job = tuple[Callable[..., dict], tuple]


def cpu_time() -> float:
    """CPU seconds of this process (all its threads) and of its children that have ended (a load's
    forked parse workers, etl/parse_pool.py): a job's CPU is the difference of two readings."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_job(job: Callable[..., dict], *args: Any) -> dict:
    """``job(*args)`` in a fresh interpreter (its imports, memory and DuckDB instances its own), as a
    user's command runs: not a daemon, so a load in it may fork its parse workers (etl/parse_pool.py)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:
        return pool.submit(job, *args).result()


def rounds(contenders: dict[str, Job], reference: str, count: int = 5,
           rate: Callable[[dict], float] | None = None, before: Callable[[str, int], None] | None = None,
           log: Callable[[str], None] | None = print) -> dict:
    """Run every contender ``count`` times, interleaved; ratios against ``reference`` per round.

    ``rate`` turns a run's result into a throughput (default: rows / seconds); a contender's ratio
    in a round is its rate over the reference's rate in that round (above 1: faster than the
    reference). ``before(name, k)`` runs before each run (e.g. to delete the previous database).
    Returns {"runs": {name: [result, ...]}, "ratios": {name: [...]}, "cpu_ratios": {name: [...]},
    "load": [...], "count": count}: ``cpu_ratios`` are the same ratios in CPU seconds of each run's
    process (its DuckDB threads included), where the runs report them: a second view that moves less
    with the other load on a shared machine.
    """
    rate = rate or (lambda r: r["rows"] / r["seconds"])
    names = list(contenders)
    runs: dict[str, list[dict]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names if n != reference}
    cpu_ratios: dict[str, list[float]] = {n: [] for n in names if n != reference}
    load: list[float] = []
    for k in range(count):
        load.append(os.getloadavg()[0])
        order = names[k % len(names):] + names[:k % len(names)]
        took: dict[str, dict] = {}
        for name in order:
            if before is not None:
                before(name, k)
            job, args = contenders[name]
            took[name] = run_job(job, *args)
            runs[name].append(took[name])
        for name in ratios:
            ratios[name].append(rate(took[name]) / rate(took[reference]))
            if "cpu" in took[name] and "cpu" in took[reference]:  # the same ratio in CPU seconds
                cpu_ratios[name].append(rate(took[name]) * took[name]["seconds"] / took[name]["cpu"]
                                        / (rate(took[reference]) * took[reference]["seconds"] / took[reference]["cpu"]))
        if log is not None:
            log(f"  round {k + 1}/{count} (load {load[-1]:.1f}): "
                + ", ".join(f"{n} {took[n]['seconds']:.2f} s" for n in names)
                + "; " + ", ".join(f"{n}/{reference} {ratios[n][-1]:.2f}" for n in ratios))
    return {"runs": runs, "ratios": ratios, "cpu_ratios": cpu_ratios, "load": load, "count": count,
            "reference": reference}


def summary(values: list[float]) -> dict:
    """Median, lowest and highest of per-round values."""
    return {"median": statistics.median(values), "low": min(values), "high": max(values), "n": len(values)}


def text(values: list[float], digits: int = 2) -> str:
    """「0.52 (0.47–0.58, 5 rounds)」: the median with its spread."""
    s = summary(values)
    return f"{s['median']:.{digits}f} ({s['low']:.{digits}f}–{s['high']:.{digits}f}, {s['n']} rounds)"


def median_seconds(result: dict, name: str) -> float:
    """The median wall time of a contender's runs in a rounds() result."""
    return statistics.median(r["seconds"] for r in result["runs"][name])


def load_text(result: dict) -> str:
    """The load averages at the start of the rounds, as 「2.1–4.3」."""
    return f"{min(result['load']):.1f}–{max(result['load']):.1f}"
