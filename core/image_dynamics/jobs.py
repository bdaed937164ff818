"""Long work that reports progress and can be cancelled, the same way from the CLI, Python and Blender.

A job function takes ``progress`` (a :class:`Progress`) and checks ``progress.cancel`` between steps. Front ends drive
the pieces they have: the CLI draws a progress bar and cancels on Ctrl-C; the add-on shows the status bar and cancels on
Esc from the main thread while the job runs in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .errors import CancelledError


class CancelToken:
    """A thread-safe flag: any thread may :meth:`cancel`; workers call :meth:`raise_if_cancelled` between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled by the user; no partial output was left behind")


def is_cancelled(cancel: object) -> bool:
    """Whether ``cancel`` asks to stop: ``None`` (never), a :class:`CancelToken`, or a callable returning a bool."""
    if cancel is None:
        return False
    if callable(cancel):
        return bool(cancel())
    return bool(getattr(cancel, "cancelled", False))


ProgressCallback = Callable[[int, int, str], None]


@dataclass
class Progress:
    """Counts steps of one stage of work and forwards them to an optional callback ``(done, total, stage)``.

    Reading ``done``/``total``/``stage`` from another thread is safe (plain attribute reads of immutable values).
    """

    callback: ProgressCallback | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    stage: str = ""
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)

    def start(self, stage: str, total: int) -> None:
        self.cancel.raise_if_cancelled()
        self.stage, self.done, self.total = stage, 0, int(total)
        self._emit()

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._emit()
        self.cancel.raise_if_cancelled()

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _emit(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total, self.stage)


def ordered_map(fn: Callable, items: list, workers: int, cancel: object = None, in_process: bool = False) -> Iterator:
    """Yield ``fn(item)`` for each of ``items``, in order, and stop (cancelling what is queued) as soon as ``cancel``
    says so (see :func:`is_cancelled`).

    ``in_process``: call ``fn`` here, one item after another. Otherwise ``workers`` spawned processes (a fresh
    interpreter each: nothing of this process's state, such as numba threads or an imported bpy, is forked) with at
    most ``2 * workers`` items in flight, so results stream while memory stays bounded. ``fn`` and the items must
    pickle.
    """
    if in_process:
        for item in items:
            if is_cancelled(cancel):
                return
            yield fn(item)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    workers = max(1, int(workers))
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        pending: list[cf.Future] = []
        next_item = 0
        while next_item < len(items) or pending:
            while next_item < len(items) and len(pending) < 2 * workers and not is_cancelled(cancel):
                pending.append(pool.submit(fn, items[next_item]))
                next_item += 1
            if is_cancelled(cancel):
                for future in pending:
                    future.cancel()
                return
            yield pending.pop(0).result()
