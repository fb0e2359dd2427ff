"""``energy-monitor up`` runs anywhere: from a folder of its own with the editable install of this
checkout, and from an empty folder with a wheel built from it installed in a fresh virtual
environment. Each run seeds a one-day demo household in ``./data`` of that folder, and a person
signs in to it in Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.support import VIEWPORT, free_port, new_context, settle, sign_in

ROOT = Path(__file__).resolve().parents[2]
# The sidebar colour of the packaged Streamlit settings (webapp/.streamlit/config.toml): seen in
# the browser, it proves they applied although Streamlit ran far from the checkout.
PACKAGED_SIDEBAR = "rgb(247, 249, 251)"
# What a copy of the checkout to build from leaves out: local state and build output.
_NOT_SOURCE_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "test-artifacts", "__pycache__",
    ".hypothesis", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def not_source(folder: str, names: list[str]) -> set[str]:
    """``_NOT_SOURCE_ANYWHERE``, and the checkout's own ``./data`` (the SQLite file of a local
    run); a package's ``data`` folder (energy_core/data, the common-password list) is source."""
    ignored = set(_NOT_SOURCE_ANYWHERE(folder, names))
    if Path(folder).resolve() == ROOT.resolve() and "data" in names:
        ignored.add("data")
    return ignored


pytestmark = pytest.mark.e2e


def run(*args: object, **kwargs) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def bare_environment() -> dict[str, str]:
    """This process's environment without any setting of the monitor or of Python's path: ``up``
    must find everything by itself, as on a fresh machine."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_") and k not in drop}


def wait_for_line(proc: subprocess.Popen, log: Path, line: str, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no {line!r} from `up`:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)


def up_and_sign_in(energy_monitor: Path, *, folder: Path, browser, log: Path) -> None:  # noqa: ANN001
    """Run ``energy-monitor up`` in ``folder`` (empty), sign in to the demo household, stop it."""
    api_port, app_port = free_port(), free_port()
    command = [energy_monitor, "up", "--api-port", api_port, "--app-port", app_port]
    command += ["--demo-days", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(part) for part in command],
            cwd=folder,
            env=bare_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(proc, log, "Press Ctrl-C to stop.", timeout_s=180)
        database = folder.resolve() / "data" / "energy.db"
        assert f"Database: sqlite:///{database}" in log.read_text()
        assert database.is_file()

        context = new_context(browser, viewport=VIEWPORT)
        page = context.new_page()
        sign_in(page, f"http://127.0.0.1:{app_port}", DEMO_EMAIL, DEMO_PASSWORD)
        settle(page)
        page.get_by_text("Heat pump").first.wait_for(timeout=30_000)
        assert not page.locator('[data-testid="stException"]').count()
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.evaluate("e => getComputedStyle(e).backgroundColor") == PACKAGED_SIDEBAR
        # The Devices page's "Send data" samples post to the API this `up` started.
        sidebar.get_by_role("link", name="Devices", exact=True).click()
        page.get_by_role("tab", name="Send data").first.click()
        page.get_by_text(f"http://127.0.0.1:{api_port}/api/v1/telemetry").first.wait_for(
            timeout=30_000
        )
        context.close()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text(errors="replace")[-4000:]
    assert "Stopped." in log.read_text()


@pytest.fixture
def wheel_install(tmp_path) -> Path:
    """The ``energy-monitor`` command of a wheel built from this checkout, installed in a fresh
    virtual environment.

    Only the project's own wheel is built and installed there. Its dependencies come from this
    test environment, through a ``.pth`` file that appends its site-packages to the fresh
    environment's path: installing them afresh would take minutes and a package index, and prove
    nothing about this project. A ``.pth`` path line does not run the ``.pth`` files of the
    directory it adds, so the editable install of this checkout stays out of sight; the fixture
    checks that every package of the project is imported from the wheel.
    """
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=not_source)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", ".",
        cwd=source)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("energy_monitor-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site.strip()) / "test-environment.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel)  # fmt: skip
    packages = ("energy_cli", "energy_core", "ingest_api", "mqtt_bridge", "scheduler", "webapp")
    imported = run(
        python, "-c", f"import {', '.join(packages)}; print({', '.join(packages)})", cwd=tmp_path,
        env=bare_environment(),
    )  # fmt: skip
    assert imported.count(str(venv)) == len(packages), imported
    return venv / "bin" / "energy-monitor"


def test_up_from_another_folder_with_the_editable_install(browser, tmp_path):
    folder = tmp_path / "somewhere"
    folder.mkdir()
    # A file of the folder named like one of the monitor's packages must not stand in for it.
    (folder / "scheduler.py").write_text("raise SystemExit('the folder's scheduler.py ran')\n")
    energy_monitor = Path(sys.executable).parent / "energy-monitor"
    up_and_sign_in(energy_monitor, folder=folder, browser=browser, log=tmp_path / "up.log")


def test_up_from_an_empty_folder_with_a_built_wheel(wheel_install, browser, tmp_path):
    folder = tmp_path / "somewhere"
    folder.mkdir()
    up_and_sign_in(wheel_install, folder=folder, browser=browser, log=tmp_path / "up.log")
