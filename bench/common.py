"""What every benchmark prints beside its table (the machine, the date and how busy it was), and the
busy neighbour the latency benches measure beside."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psutil


def load_snapshot() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages now."""
    return os.getloadavg()


def machine_line(load_before: tuple[float, float, float]) -> str:
    """One line: date, CPU, cores, memory, and the load average before and after the run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    after = os.getloadavg()
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average (1 min) {load_before[0]:.1f} before, "
            f"{after[0]:.1f} after (the cores are shared: timings are noisy above a load of 2)")


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        pass


@contextmanager
def busy_neighbours(n: int) -> Iterator[None]:
    """`n` processes each spinning on a core while the block runs: a busy neighbour on the host."""
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.join()
