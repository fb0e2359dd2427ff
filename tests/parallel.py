"""The suite on several processes (pytest-xdist), and what those processes must not share.

``pytest -n 3`` runs the tests on three processes; plain ``pytest`` (or ``-n 0``, or
``-p no:xdist``) runs them all in one process. Every worker has scratch databases of its own
(their names are random) and a temporary folder of its own. The rest is kept apart here:

- A test file's tests of one backend run on one worker, so that its module-scoped fixtures (a
  seeded household, a database per module and backend) are built once, while its SQLite and
  PostgreSQL halves can run at the same time on two. The files that start real processes or a
  browser go first, as the longest jobs should.
- What a test holds with ``one_worker_at_a_time`` (the Redis test database, which the tests
  empty) no test of another worker holds at the same time.
- A test marked ``alone`` (it restarts the shared PostgreSQL server) waits until no other test
  runs, and no other test starts until it has finished.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

BACKENDS = ("sqlite", "postgresql")
T = TypeVar("T")
_BY_FILE_AND_BACKEND = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With ``-n N`` and no ``--dist``: a file's tests of one backend to one worker, in the order
    below."""
    option = config.option
    if on_a_worker(config) or not config.pluginmanager.hasplugin("xdist") or option.collectonly:
        return  # a worker runs what it is given, and starts no workers of its own
    if option.dist == "no" and option.numprocesses:
        option.dist = "loadfile"
        option.loadscopereorder = False  # the order of pytest_collection_modifyitems
        config.stash[_BY_FILE_AND_BACKEND] = True


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """The scheduler of ``pytest_cmdline_main``'s distribution (xdist's own for any other)."""
    if not config.stash.get(_BY_FILE_AND_BACKEND, False):
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByFileAndBackend(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return file_and_backend(nodeid)

    return ByFileAndBackend(config, log)


def file_and_backend(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, and its backend when it has one (the
    ``sqlite`` or ``postgresql`` of its parameters)."""
    path, _, name = nodeid.partition("::")
    parameters = name.partition("[")[2].removesuffix("]").split("-")
    backend = next((p for p in parameters if p in BACKENDS), None)
    return f"{path}::{backend}" if backend else path


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker, the files that start processes or a browser first (the sort is stable)."""
    if on_a_worker(config):
        items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    if not on_a_worker(item.config):
        return (yield)
    with _turn(_run_folder(item.config), alone=item.get_closest_marker("alone") is not None):
        return (yield)


@contextmanager
def one_worker_at_a_time(config: pytest.Config, name: str) -> Iterator[None]:
    """Hold ``name`` (a shared service) so that no test of another worker holds it meanwhile."""
    if not on_a_worker(config):
        yield
        return
    with (_run_folder(config) / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def on_a_worker(config: pytest.Config) -> bool:
    """Whether this process is a worker of ``pytest -n N`` (rather than the one that started them,
    or the only one)."""
    return hasattr(config, "workerinput")


def _run_folder(config: pytest.Config) -> Path:
    """The folder of this run that all its workers share: the parent of their temporary folders."""
    return Path(config.option.basetemp).parent


@contextmanager
def _turn(folder: Path, *, alone: bool) -> Iterator[None]:
    """A reader-writer lock across the workers: any number of tests run at once, and a test that
    must be alone runs by itself. The gate gives that test precedence: once it holds the gate, no
    other test starts, and it waits for those that run to finish."""
    with (folder / "tests.gate").open("a") as gate, (folder / "tests.running").open("a") as running:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(running, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(running, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)


def run_folder(config: pytest.Config) -> Path:
    """The folder of this run, shared by its workers (and the process that started them)."""
    if on_a_worker(config):
        return _run_folder(config)
    return config._tmp_path_factory.getbasetemp()  # noqa: SLF001 - the folder xdist gives out


def once_per_run(config: pytest.Config, name: str, build: Callable[[Path], T]) -> T:
    """What ``build`` makes, made once for the whole run whatever the number of workers: the first
    worker to ask builds it (in a folder of the run, given to ``build``) while the others wait, and
    every worker gets the JSON copy of what ``build`` returned. What it makes must not change
    afterwards: a test that changes it works on a copy of its own."""
    folder = run_folder(config) / "once"
    folder.mkdir(exist_ok=True)
    made = folder / f"{name}.json"
    with (folder / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not made.exists():
                work = folder / name
                work.mkdir(exist_ok=True)
                made.write_text(json.dumps(build(work)))
            return json.loads(made.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
