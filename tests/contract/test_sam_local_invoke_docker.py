"""`sam local invoke` itself, in Docker, with the README's command (`make local-invoke-docker`; not in
`make test`).

What runs: Debian's Docker engine (tests/support/docker_engine.sh starts it when none answers), Lambda's
python3.12 base image built locally under the name SAM looks for (tests/support/lambda_base_image.py;
no registry is reached, `--skip-pull-image`), `sam build`, then the README's command. SAM derives its
invoke image from the base image (the emulator in /var/rapid, the layer in /opt) and runs the built
function in it with env-vars.json.

What this proves, and what it cannot: the function starts and runs in SAM's container from the local
image, with the layer at /opt/python and env-vars.json's endpoint applied, as x86_64 (samconfig.toml's
`Architecture`). It cannot reach a sandbox on the host's 127.0.0.1: SAM CLI 1.170.0 never puts the
container on the host's network for `--docker-network host` (samcli/local/docker/container.py only
skips connecting a network named "host"; no network mode is set), so the container's 127.0.0.1 is its
own. The test asserts exactly that, so that a SAM release that honours the option fails it and the
report and digest assertions can take its place (docs/local-invoke.md).

Skips (never fails) when no Docker engine answers and none can be started, with the starter's reason.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import lambda_base_image, local_invoke

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).with_name("sam")
ENGINE = ROOT / "tests" / "support" / "docker_engine.sh"
#: samconfig.toml's [default.local_invoke.parameters] sets the template's Architecture to this.
ARCHITECTURE = "x86_64"
#: The README's command, as printed there (its "With Docker" block).
#: `make local-invoke-docker` sets it; `make test` leaves it unset (the run takes minutes: docs/local-invoke.md).
pytestmark = pytest.mark.skipif(
    os.environ.get("HEALTHAUDIT_DOCKER_TESTS") != "1",
    reason="Docker `sam local invoke` runs under `make local-invoke-docker` (HEALTHAUDIT_DOCKER_TESTS=1)",
)
README_AUDIT_COMMAND = (
    "sam local invoke AuditFunction -e events/scheduled.json --env-vars env-vars.json "
    "--docker-network host --skip-pull-image"
)


@pytest.fixture(scope="module")
def docker_engine() -> None:
    started = time.monotonic()
    result = subprocess.run([str(ENGINE)], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.skip(f"no Docker engine: {result.stderr.strip()}")
    print(f"\nDocker engine answering after {time.monotonic() - started:.1f}s")


@pytest.fixture(scope="module")
def python312():
    found = local_invoke.find_python312()
    if found is None:
        pytest.skip(f"no python{local_invoke.LAMBDA_PYTHON} (pyenv prefix {local_invoke.PYENV_VERSION})")
    return found


@pytest.fixture(scope="module")
def base_image(docker_engine, python312) -> lambda_base_image.BuiltImage:
    image = lambda_base_image.ensure_image(python312)
    print(f"base image {image.name}: {'built' if image.built else 'present'} in {image.seconds:.1f}s")
    return image


@pytest.fixture(scope="module")
def build(python312) -> local_invoke.Build:
    local_invoke.ensure_runtime_venv(python312)
    built = local_invoke.sam_build(python312)
    print(f"sam build: {built.seconds:.1f}s")
    return built


def test_readme_command_is_the_one_run_here():
    readme = (ROOT / "README.md").read_text()
    assert README_AUDIT_COMMAND in " ".join(readme.replace("\\\n", " ").split())


#: What SAM's derived image and the emulator rely on in the base image, checked inside it (no network).
LAYOUT_PROBE = (
    "set -e; test -x /var/runtime/bootstrap; test -x /lambda-entrypoint.sh; test -d /var/task; test -d /opt; "
    "command -v mv chmod cp rm >/dev/null; "
    "PYTHONPATH=/var/runtime python3.12 -c "
    "'import sys, awslambdaric, boto3; print(sys.executable, \"%d.%d\" % sys.version_info[:2])'"
)


def test_base_image_has_the_layout_sam_and_the_emulator_rely_on(base_image):
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", base_image.name, "-c", LAYOUT_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/var/lang/bin/python3.12", "3.12"]
    working_dir = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            "{{.Config.WorkingDir}} {{json .Config.Entrypoint}}",
            base_image.name,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert working_dir == ["/var/task", '["/lambda-entrypoint.sh"]']


def sam_local_invoke(command: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], float]:
    """The command as a user types it in the project's folder (samconfig.toml applies), with dummy
    credentials and no profile, telemetry off."""
    argv = shlex.split(command)
    assert argv[0] == "sam"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "SAM_CLI_TELEMETRY": "0"}
    started = time.monotonic()
    result = subprocess.run(
        [str(SAM), *argv[1:]], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    return result, time.monotonic() - started


def test_docker_network_host_leaves_the_function_without_the_hosts_loopback_in_sam_1_170(base_image, build):
    result, seconds = sam_local_invoke(README_AUDIT_COMMAND)
    print(f"sam local invoke AuditFunction: {seconds:.1f}s")
    assert result.returncode == 0, result.stderr[-4000:]
    response = json.loads(result.stdout.strip().splitlines()[-1])
    # It ran in SAM's container: the handler, the layer from /opt/python, env-vars.json's endpoint.
    stack = "".join(response.get("stackTrace", []))
    assert "/var/task/app.py" in stack and "/opt/python/healthaudit/" in stack, response
    # And the container's 127.0.0.1 is not the host's: nothing answers there.
    assert response["errorType"] == "EndpointConnectionError", response
    assert response["errorMessage"] == 'Could not connect to the endpoint URL: "http://127.0.0.1:5000/"'
    # Nothing pulled: SAM derived its image (tagged with a hash of the layers) from the base image built here.
    assert "Requested to skip pulling images" in result.stderr
    assert base_image.name.endswith(f"python:3.12-{ARCHITECTURE}")
    derived = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "samcli/lambda-python"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ours = [name for name in derived if name.startswith(f"samcli/lambda-python:3.12-{ARCHITECTURE}-")]
    assert ours, derived
    architectures = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Architecture}}", *ours],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(architectures) == {"amd64"}
