"""What an operator installs: the wheels `make dist` builds install into a clean virtualenv and
serve, and the image's way of running (uid 10001, a keyring mounted from the host) works the
way docs/deployment.md says. No Docker engine here: the image's commands run as processes,
under the image's user, with its environment.

Slow: one `make dist`, one virtualenv with the wheels and their dependencies (pip's cache
makes that quick on a machine that ran `make install` before), shared by both tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import twofa_client

from ..support import dockerfile
from ..support.net import free_port
from ..support.paths import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheels")]

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
IMAGE_UID = 10001  # USER of deploy/docker/Dockerfile
HOST_UID = 1000  # the operator who made the keyring on the host
WAIT = 60.0
# The virtualenv's interpreter: the system's, as on a host or in the image, which every
# user may run (an interpreter under root's home would keep the image's uid out).
BASE_PYTHON = shutil.which("python3.11", path="/usr/bin:/usr/local/bin") or sys.executable


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, user: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        user=user,
        group=user,
        extra_groups=[] if user is not None else None,
    )


def outside_env(**extra: str) -> dict[str, str]:
    """An environment that knows nothing of this checkout or its virtualenv."""
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PIP_FIND_LINKS", "PIP_CERT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = ":".join(
        part for part in env.get("PATH", "/usr/bin:/bin").split(":") if str(REPO) not in part
    )
    env.update(extra)
    return env


@contextmanager
def serving(
    command: list[str], *, cwd: Path, env: dict[str, str], user: int | None = None
) -> Iterator[None]:
    """`twofa serve` running while the block runs; then SIGTERM, and it must exit 0 having
    logged that it stopped."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        user=user,
        group=user,
        extra_groups=[] if user is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            yield
        finally:
            server.send_signal(signal.SIGTERM)
            _, errors = server.communicate(timeout=WAIT)
    assert server.returncode == 0 and "twofa stopped" in errors, errors


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    made = run(["make", "dist", f"DIST={out}", f"VENV={sys.prefix}"], cwd=REPO)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path) -> Iterator[Path]:
    """A clean virtualenv with only the two wheels (and their dependencies) installed, in a
    directory every user may read: the image's uid runs from it too."""
    root = Path(tempfile.mkdtemp(prefix="twofa-wheels-"))
    root.chmod(0o755)
    venv = root / "venv"
    try:
        made = run([BASE_PYTHON, "-m", "venv", str(venv)], cwd=root, env=outside_env())
        assert made.returncode == 0, made.stderr
        wheels = [
            str(dist / f"twofa_client-{VERSION}-py3-none-any.whl"),
            str(dist / f"twofa-{VERSION}-py3-none-any.whl"),
        ]
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *wheels]
        result = run(pip, cwd=root, env=outside_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield venv
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_make_dist_builds_a_wheel_and_an_sdist_of_each_package(dist: Path) -> None:
    assert sorted(path.name for path in dist.iterdir()) == [
        f"twofa-{VERSION}-py3-none-any.whl",
        f"twofa-{VERSION}.tar.gz",
        f"twofa_client-{VERSION}-py3-none-any.whl",
        f"twofa_client-{VERSION}.tar.gz",
    ]


def test_the_server_needs_exactly_the_client_of_its_own_version() -> None:
    client = tomllib.loads((REPO / "clients" / "python" / "pyproject.toml").read_text())
    server = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert client["project"]["version"] == VERSION == twofa_client.__version__
    assert f"twofa-client=={VERSION}" in server["project"]["dependencies"]


def test_the_wheels_install_into_a_clean_virtualenv_and_serve(
    installed: Path, tmp_path: Path, short_dir: Path
) -> None:
    twofa = str(installed / "bin" / "twofa")
    env = outside_env()
    version = run([twofa, "--version"], cwd=tmp_path, env=env)
    assert version.stdout == f"twofa {VERSION}\n", version.stderr
    where = run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import twofa_server; print(twofa_server.__file__)",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert where.stdout.startswith(str(installed)), where.stdout  # not this checkout

    assert run([twofa, "keys", "generate", "data/keyring"], cwd=tmp_path, env=env).returncode == 0
    init = run([twofa, "store", "init", "--data-dir", "data"], cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    socket = f"unix:{short_dir / 'api.sock'}"
    serve = [twofa, "serve", "--data-dir", "data", "--listen", "", "--metrics-listen", ""]
    with serving([*serve, "--unix-socket", str(short_dir / "api.sock")], cwd=tmp_path, env=env):
        health = run(
            [twofa, "health", "--address", socket, "--wait", str(WAIT)], cwd=tmp_path, env=env
        )
        assert health.stdout == f"twofa: {socket} is SERVING\n", health.stderr
        user = run(
            [twofa, "user", "status", "acme", "alice", "--address", socket], cwd=tmp_path, env=env
        )
        assert user.returncode == 0 and "2FA               off" in user.stdout, user.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="runs processes as other users: needs root")
def test_the_image_reads_a_host_keyring_only_once_it_is_the_image_users(
    installed: Path,
) -> None:
    try:
        run([str(installed / "bin" / "python"), "-c", "pass"], cwd=Path("/"), user=IMAGE_UID)
    except PermissionError:
        pytest.skip(f"uid {IMAGE_UID} may not run {BASE_PYTHON}, the virtualenv's interpreter")
    root = Path(tempfile.mkdtemp(prefix="twofa-image-"))
    root.chmod(0o755)
    try:
        _run_as_the_image_does(installed, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_as_the_image_does(venv: Path, root: Path) -> None:
    twofa = str(venv / "bin" / "twofa")
    keyring = root / "keyring"  # mounted read-only into the container
    assert run([twofa, "keys", "generate", str(keyring)], cwd=root).returncode == 0
    os.chown(keyring, HOST_UID, HOST_UID)  # the host user's file, mode 0600
    state, sockets = root / "var-lib-twofa", root / "run-twofa"  # the image's volumes
    for directory, mode in ((state, 0o700), (sockets, 0o750)):
        directory.mkdir(mode=mode)
        os.chown(directory, IMAGE_UID, IMAGE_UID)
    health_port = free_port()
    image_env = dockerfile.environment()
    env = outside_env(
        **{name: value for name, value in image_env.items() if name.startswith("TWOFA_")},
        PYTHONDONTWRITEBYTECODE="1",
    )
    # The image's paths, under this test's directory; its health port, free here.
    env.update(
        PATH=f"{venv / 'bin'}:{env['PATH']}",
        TWOFA_DATA_DIR=str(state),
        TWOFA_UNIX_SOCKET=str(sockets / "twofa.sock"),
        TWOFA_HEALTH_LISTEN=f"0.0.0.0:{health_port}",
        TWOFA_METRICS_LISTEN="",
        TWOFA_KEYRING_FILE=str(keyring),
        HOME=str(state),
    )
    store_init = [twofa, "store", "init"]

    # As the documented `docker run` was: the host user's keyring, unreadable to uid 10001.
    refused = run(store_init, cwd=state, env=env, user=IMAGE_UID)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert (
        f"belongs to uid {HOST_UID} (mode 0600) and twofa runs as uid {IMAGE_UID}" in refused.stderr
    )
    assert f"give the file to uid {IMAGE_UID} (chown)" in refused.stderr

    # The documented way: chown 10001:10001 keyring (still mode 0600).
    os.chown(keyring, IMAGE_UID, IMAGE_UID)
    _init_serve_and_check_health(store_init, env, state, IMAGE_UID)

    # Or --user: the container runs as the host user, on directories that user owns.
    os.chown(keyring, HOST_UID, HOST_UID)
    for directory in (state, sockets):
        for path in (directory, *directory.iterdir()):
            os.chown(path, HOST_UID, HOST_UID)
    _init_serve_and_check_health(store_init, env, state, HOST_UID)


def _init_serve_and_check_health(
    store_init: list[str], env: dict[str, str], cwd: Path, uid: int
) -> None:
    initialised = run(store_init, cwd=cwd, env=env, user=uid)
    assert initialised.returncode == 0, initialised.stderr
    _, healthcheck = dockerfile.healthcheck()
    # The image's ENTRYPOINT, found on its PATH.
    with serving(["twofa", "serve"], cwd=cwd, env=env, user=uid):
        waited = run([*healthcheck, "--wait", str(WAIT)], cwd=cwd, env=env, user=uid)
        assert waited.returncode == 0, waited.stderr
        assert waited.stdout.startswith("twofa: 127.0.0.1:"), waited.stdout  # health_listen
        assert run(healthcheck, cwd=cwd, env=env, user=uid).returncode == 0  # the CMD itself
