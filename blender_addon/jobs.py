"""Long work off Blender's main thread: a job with progress and a cancel token, delivered by main-thread polling.

A :class:`Job` runs ``work(progress)`` (engine calls on plain numpy data; never ``bpy``) in a worker thread. The main
thread calls :meth:`Job.poll` from a modal operator's timer (or a test's loop): each call only reads the progress
counters, and the last one runs ``deliver(result)``, which applies the result to Blender data. Every poll is timed
(:attr:`Job.poll_seconds`) so tests can check the main thread is never blocked for long. Esc calls :meth:`Job.cancel`,
which sets the engine's cancel token; the engine stops at its next step and removes its staged files.

In ``blender --background`` no event loop runs (timers never fire while a script blocks), so work runs synchronously
on the calling thread: ``start(threaded=False)``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from .engine import UserError

#: Job states. A job is finished once it leaves RUNNING; ``poll`` delivers it exactly once.
PENDING, RUNNING, DONE, FAILED, CANCELLED = "PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"
#: Seconds between polls of a running job by the modal operator's timer.
POLL_INTERVAL_S = 0.1

_active: Job | None = None
_lock = threading.Lock()


class Job:
    """One piece of long work.

    Args:
        label: what the job does, for the status bar ("Baking forest").
        work: ``work(progress) -> result``; runs in the worker thread; must not touch ``bpy``; checks
            ``progress.cancel`` between steps (engine functions do). Raises ``ImageDynamicsError`` or
            :class:`UserError` for problems the artist can fix.
        deliver: ``deliver(result) -> message``; runs on the main thread, once, when ``work`` succeeded; applies the
            result to Blender data (look data up by name there: an undo may have replaced the objects meanwhile).
    """

    def __init__(self, label: str, work: Callable[[Any], Any], deliver: Callable[[Any], str] | None = None) -> None:
        from image_dynamics.jobs import Progress

        self.label = label
        self.work = work
        self.deliver = deliver
        self.progress = Progress()
        self.state = PENDING
        self.message = ""
        self.result: Any = None
        self.poll_seconds: list[float] = []
        self.started = 0.0
        self.finished_at: float | None = None
        self._finished = threading.Event()
        self._delivered = False
        self._thread: threading.Thread | None = None

    # -- worker side --------------------------------------------------------------------------------------------------

    def _run(self) -> None:
        from image_dynamics.errors import CancelledError, ImageDynamicsError

        try:
            self.result = self.work(self.progress)
            self.state = DONE
        except (CancelledError, KeyboardInterrupt):
            self.state, self.message = CANCELLED, f"{self.label}: cancelled; nothing was written."
        except (ImageDynamicsError, UserError) as exc:
            self.state, self.message = FAILED, str(exc)
        except MemoryError:
            self.state, self.message = FAILED, (f"{self.label}: out of memory. Bake fewer frames (a shorter loop) or "
                                                "a smaller image.")
        except Exception as exc:  # noqa: BLE001 - must reach the artist as a report, never only the console
            traceback.print_exc()
            self.state = FAILED
            self.message = (f"{self.label}: internal error {type(exc).__name__}: {exc}. Details are in the system "
                            "console; please report them.")
        finally:
            self.finished_at = time.monotonic()
            self._finished.set()

    # -- main-thread side ---------------------------------------------------------------------------------------------

    def start(self, threaded: bool = True) -> Job:
        """Run the work in a worker thread (``threaded``) or right here, returning when it is done."""
        if self.state != PENDING:
            raise RuntimeError(f"job {self.label!r} was already started")
        self.state, self.started = RUNNING, time.monotonic()
        if threaded:
            self._thread = threading.Thread(target=self._run, name=f"image_dynamics: {self.label}", daemon=True)
            self._thread.start()
        else:
            self._run()
        return self

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def poll(self) -> bool:
        """Main-thread callback: returns True once the job is finished, delivering its result on the first such call.

        Cheap while the job runs (reads counters); the delivering call runs ``deliver``. Its duration is recorded in
        :attr:`poll_seconds`.
        """
        began = time.perf_counter()
        try:
            if not self._finished.is_set():
                return False
            if not self._delivered:
                self._delivered = True
                if self.state == DONE and self.deliver is not None:
                    try:
                        self.message = self.deliver(self.result) or ""
                    except UserError as exc:
                        self.state, self.message = FAILED, str(exc)
                    except Exception as exc:  # noqa: BLE001
                        traceback.print_exc()
                        self.state = FAILED
                        self.message = f"{self.label}: could not apply the result ({type(exc).__name__}: {exc})."
            return True
        finally:
            self.poll_seconds.append(time.perf_counter() - began)

    def cancel(self) -> None:
        """Ask the work to stop (any thread); the engine removes whatever it staged."""
        self.progress.cancel.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work has finished (not delivered); True if it did within ``timeout`` seconds."""
        return self._finished.wait(timeout)

    @property
    def fraction(self) -> float:
        return self.progress.fraction

    def status_text(self) -> str:
        """One line for the status bar: label, stage, counts, and how to cancel."""
        p = self.progress
        counts = f" {p.done}/{p.total}" if p.total else ""
        stage = f": {p.stage}{counts}" if p.stage else ""
        return f"{self.label}{stage} (Esc to cancel)"


# ----------------------------------------------------------------------------------------------------------------------
# One job at a time per Blender session (two bakes into one folder would fight over it)


def active() -> Job | None:
    """The session's job (running, or finished and not yet released), if any."""
    return _active


def begin(job: Job, threaded: bool) -> Job:
    """Start ``job`` as the session's job; :class:`UserError` if another one is still running."""
    global _active
    with _lock:
        # a job nobody delivered (its modal operator ended with the file it was started from) no longer blocks
        if _active is not None and not _active.finished:
            raise UserError(f"Another Image Dynamics job is running ({_active.label}). Wait for it to finish, or "
                            "press Esc to cancel it.")
        _active = job
    try:
        return job.start(threaded=threaded)
    finally:
        if not threaded:
            job.poll()
            release(job)


def release(job: Job) -> None:
    """Forget ``job`` as the session's job (after it was delivered)."""
    global _active
    with _lock:
        if _active is job:
            _active = None


def cancel_all(timeout: float = 10.0) -> None:
    """Cancel the running job and wait for its worker (used when the add-on is disabled)."""
    global _active
    job = _active
    if job is not None:
        job.cancel()
        job.wait(timeout)
    _active = None
