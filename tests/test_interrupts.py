"""Interruptions and concurrency: workers die with their parent, SIGTERM acts like
Ctrl-C, and two writers of one output never both run."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from galaxy_xai.cli import main
from galaxy_xai.data.store import DatasetWriter
from galaxy_xai.errors import DataFormatError, GalaxyXAIError, OutputBusyError
from galaxy_xai.io import OutputLock, atomic_output, lock_path, partial_path
from galaxy_xai.sharding import worker_pool

FAST_YAML = "size: 32\nbulge: {sersic_n: 4}\nbar: {sersic_n: 0.5}\n"
LINUX = sys.platform.startswith("linux")


# --------------------------------------------------------------------------- locks
def test_second_atomic_output_while_locked_raises_output_busy(tmp_path) -> None:
    out = tmp_path / "x.json"
    with OutputLock(out) as held:
        assert held.held and lock_path(out).exists()
        with (
            pytest.raises(OutputBusyError, match=f"another process is writing '{out}'"),
            atomic_output(out) as tmp,
        ):
            tmp.write_text("never")  # pragma: no cover - not reached
        assert not partial_path(out).exists() and not out.exists()
    assert not lock_path(out).exists()  # removed on release
    err = OutputBusyError("x")
    assert isinstance(err, GalaxyXAIError) and isinstance(err, OSError)


def test_atomic_output_leaves_no_lock_file_either_way(tmp_path) -> None:
    out = tmp_path / "y.txt"
    with atomic_output(out) as tmp:
        assert lock_path(out).exists()
        tmp.write_text("done")
    assert out.read_text() == "done"
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "z.txt", keep_partial=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert partial_path(tmp_path / "z.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.txt", "z.txt.partial"]


def test_lock_file_left_by_a_killed_process_is_taken_over(tmp_path) -> None:
    out = tmp_path / "s.txt"
    lock_path(out).write_text("")  # what SIGKILL leaves: a file, but no OS lock on it
    with atomic_output(out) as tmp:
        tmp.write_text("ok")
    assert out.read_text() == "ok" and not lock_path(out).exists()


def test_dataset_writer_holds_the_lock_until_finished_or_aborted(tmp_path) -> None:
    import numpy as np

    out = tmp_path / "d.h5"
    kwargs = {"n_images": 2, "image_shape": (1, 4, 4)}
    images = np.zeros((2, 1, 4, 4), np.float32)
    writer = DatasetWriter(out, **kwargs)
    with pytest.raises(OutputBusyError, match="another process is writing"):
        DatasetWriter(out, **kwargs)  # must not delete the first writer's partial
    assert partial_path(out).exists()
    writer.write(0, images, [{"id": "a"}, {"id": "b"}])
    writer.close()
    assert out.exists() and not lock_path(out).exists() and not partial_path(out).exists()
    # an unfinished file keeps its partial (for resume) but not its lock
    with pytest.raises(DataFormatError, match="never written"), DatasetWriter(out, **kwargs):
        pass
    assert partial_path(out).exists() and not lock_path(out).exists()
    writer = DatasetWriter(out, **kwargs, resume=True)
    writer.abort()
    assert not lock_path(out).exists()


def test_cli_second_writer_exits_2_with_one_line(tmp_path, capsys) -> None:
    out = tmp_path / "same.h5"
    with OutputLock(out):  # as a running 'galaxy-xai simulate --out same.h5' holds it
        status = main(["simulate", "--n", "2", "--size", "32", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"galaxy-xai simulate: error: another process is writing '{out}'")
    assert err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # no partial, and the lock file went with the lock


# --------------------------------------------------------------------------- workers
def _parent_death_signal() -> int:
    value = ctypes.c_int(-1)
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
    return value.value


def _worker_facts() -> tuple[int, bool]:
    return os.getppid(), signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


_INIT: list[str] = []


def _record_init(tag: str) -> None:
    _INIT.append(tag)


def _init_tags() -> list[str]:
    return list(_INIT)


def test_worker_pool_runs_the_initializer_after_the_parent_watch() -> None:
    context = multiprocessing.get_context("fork" if LINUX else "spawn")
    with worker_pool(1, mp_context=context, initializer=_record_init, initargs=("x",)) as pool:
        ppid, sigterm_default = pool.submit(_worker_facts).result()
        assert ppid == os.getpid() and sigterm_default
        assert pool.submit(_init_tags).result() == ["x"]
        if LINUX:
            assert pool.submit(_parent_death_signal).result() == signal.SIGKILL


def test_worker_pool_refuses_bad_counts() -> None:
    from galaxy_xai.errors import ParameterError

    with pytest.raises(ParameterError, match="max_workers=0"):
        worker_pool(0)


# --------------------------------------------------------------------------- processes
def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children()]
    except ImportError:
        pass
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _argv(tmp_path: Path, out: Path, n: int, *extra: str) -> list[str]:
    config = tmp_path / "fast.yaml"
    config.write_text(FAST_YAML)
    argv = [sys.executable, "-m", "galaxy_xai", "--no-progress", "simulate", "--n", str(n)]
    return [*argv, "--config", str(config), "--out", str(out), *extra]


def _simulate(tmp_path: Path, out: Path, n: int, *extra: str) -> subprocess.Popen[bytes]:
    # stderr to a file: an orphaned worker would keep a pipe open forever
    with (out.parent / (out.name + ".stderr")).open("wb") as err:
        return subprocess.Popen(
            _argv(tmp_path, out, n, *extra), stdout=subprocess.DEVNULL, stderr=err
        )


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _start_with_workers(tmp_path: Path, out: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    proc = _simulate(tmp_path, out, 50_000, "--workers", "2")
    if not _wait_for(lambda: len(_children(proc.pid)) >= 2, 60):
        proc.kill()
        pytest.fail("the simulate workers never started")
    return proc, _children(proc.pid)


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.mark.slow
@needs_proc
def test_sigkill_of_the_parent_ends_its_workers(tmp_path) -> None:
    out = tmp_path / "k.h5"
    proc, workers = _start_with_workers(tmp_path, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    try:
        assert _wait_for(lambda: not any(_alive(w) for w in workers), 5), "orphaned workers"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    # the next run takes over the lock file the killed one left
    done = subprocess.run(
        _argv(tmp_path, out, 4, "--resume"),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not lock_path(out).exists() and not partial_path(out).exists()


@pytest.mark.slow
@needs_proc
def test_sigterm_acts_like_ctrl_c(tmp_path) -> None:
    out = tmp_path / "t.h5"
    proc, workers = _start_with_workers(tmp_path, out)
    time.sleep(1.0)  # let a few blocks be written
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 130
    err = (tmp_path / "t.h5.stderr").read_text()
    assert err.count("\n") == 1 and "interrupted" in err and "rerun to resume" in err
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 5)
    assert partial_path(out).exists() and not out.exists()  # kept for --resume
    assert not lock_path(out).exists()


@pytest.mark.slow
@needs_proc
def test_second_simulate_of_the_same_out_exits_2_while_the_first_runs(tmp_path) -> None:
    out = tmp_path / "same.h5"
    first = _simulate(tmp_path, out, 400, "--workers", "2")
    try:
        # the partial is made only once the lock is held
        assert _wait_for(lambda: partial_path(out).exists(), 60), "the first run never started"
        first.send_signal(signal.SIGSTOP)  # keeps its lock: the second surely overlaps it
        second = subprocess.run(
            _argv(tmp_path, out, 400),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1
        assert f"another process is writing '{out}'" in second.stderr
        assert partial_path(out).exists()  # the winner's, untouched
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(120) == 0
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith((".yaml", ".stderr")))
    assert names == ["same.h5"]  # no stray lock or partial from either process


def test_an_interrupt_swallowed_by_a_finalizer_is_raised_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGTERM handled inside ``__del__`` is 'ignored' by Python; the command must still stop."""
    from galaxy_xai.cli import _sigterm_as_interrupt

    class DiesWithASignal:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGTERM)
            for _ in range(100):  # the handler raises here, inside the finalizer
                pass

    reached_the_end = []

    def command(args: object) -> int:
        DiesWithASignal()  # collected at once: its __del__ swallows the first interrupt
        threading.Event().wait(10)  # a lock wait, as in concurrent.futures.wait
        reached_the_end.append(True)
        return 0

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _sigterm_as_interrupt(command)(None)
    assert not reached_the_end and time.monotonic() - t0 < 5
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
