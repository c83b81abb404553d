"""Run the `sam build` output under the Lambda Runtime Interface Emulator, on loopback, without Docker.

`sam local invoke` starts a container whose entry point is the Runtime Interface Emulator (RIE),
the binary that ships inside the aws-sam-cli wheel (``samcli/local/rapid/aws-lambda-rie-*``); RIE
serves the Lambda Runtime API to the runtime's interface client and takes invocations over HTTP
(``POST /2015-03-31/functions/function/invocations``). Here the same RIE binary runs as a plain
process in front of awslambdaric, the Python runtime interface client, from a python3.12 virtual
environment (``.venv-runtime``, pinned in ``runtime-requirements.txt`` beside this file). The task
root is the function's build directory and each layer's ``python/`` directory is on ``PYTHONPATH``
where ``/opt/python`` would be. The environment is built from nothing, as Lambda builds it: the
developer's AWS variables, profiles and config files never reach the function.

Both servers listen on 127.0.0.1 only (RIE's own default, 0.0.0.0:8080, is never used), and
stopping a `LocalLambda` ends its whole session (RIE and the runtime it started)::

    build = sam_build(find_python312())
    function = build.function("AuditFunction")
    with LocalLambda(function, lambda_environment(function, ...), workdir) as running:
        invocation = running.invoke(event)
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".aws-sam" / "build"
RUNTIME_VENV = ROOT / ".venv-runtime"
RUNTIME_REQUIREMENTS = Path(__file__).with_name("runtime-requirements.txt")
RUNTIME_STAMP = RUNTIME_VENV / ".installed"
"""Holds a copy of runtime-requirements.txt once installed (the Makefile's runtime-venv target writes it too)."""

LAMBDA_PYTHON = "3.12"
PYENV_VERSION = "3.12.1"
LOOPBACK = "127.0.0.1"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"

#: Where `sam local invoke` keeps the emulator, per machine architecture.
RIE_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


# -- python3.12, the build and the runtime environment ---------------------------------------------


def find_python312() -> Path | None:
    """A real python3.12 interpreter (not a pyenv shim): `pyenv prefix 3.12.1`, else python3.12 on PATH."""
    candidates: list[str] = []
    try:
        prefix = subprocess.run(
            ["pyenv", "prefix", PYENV_VERSION], capture_output=True, text=True, timeout=30, check=False
        )
        if prefix.returncode == 0 and prefix.stdout.strip():
            candidates.append(str(Path(prefix.stdout.strip()) / "bin" / f"python{LAMBDA_PYTHON}"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    candidates.append(f"python{LAMBDA_PYTHON}")
    for candidate in candidates:
        try:
            # Asking the interpreter for sys.executable sees through shims (a shim with no 3.12 fails).
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = probe.stdout.split()
        if probe.returncode == 0 and len(lines) == 2 and lines[1] == LAMBDA_PYTHON:
            return Path(lines[0])
    return None


@dataclass(frozen=True)
class Build:
    build_dir: Path
    seconds: float
    output: str

    def function(self, logical_id: str) -> BuiltFunction:
        return built_function(logical_id, self.build_dir)


def sam_build(
    python312: Path, template: Path = ROOT / "template.yaml", build_dir: Path = BUILD_DIR, timeout: float = 600
) -> Build:
    """`sam build` (with samconfig.toml's cached, parallel build), python3.12's directory first on PATH."""
    sam = Path(sys.executable).with_name("sam")
    env = {
        **os.environ,
        "PATH": f"{python312.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    command = [str(sam), "build", "--template", str(template), "--build-dir", str(build_dir)]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return Build(build_dir=build_dir, seconds=seconds, output=result.stdout + result.stderr)


def ensure_runtime_venv(python312: Path, venv: Path = RUNTIME_VENV) -> Path:
    """Create (or bring up to date) the runtime's virtual environment; returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / RUNTIME_STAMP.name
    wanted = RUNTIME_REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([str(python312), "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(RUNTIME_REQUIREMENTS)], check=True, timeout=900
    )
    stamp.write_text(wanted)
    return python


def rie_binary(machine: str | None = None) -> Path:
    """The Runtime Interface Emulator that `sam local invoke` uses, for this machine's architecture."""
    machine = (machine or platform.machine()).lower()
    if machine not in RIE_ARCHITECTURES:
        raise RuntimeError(f"no Runtime Interface Emulator for machine {machine!r} (have: x86_64, arm64)")
    spec = find_spec("samcli")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("aws-sam-cli is not installed in this environment (it ships the emulator)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "local" / "rapid"
    binary = binary / f"aws-lambda-rie-{RIE_ARCHITECTURES[machine]}"
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} is missing or not executable")
    return binary


# -- the built function, as `sam local invoke` reads it --------------------------------------------


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    architectures: tuple[str, ...]
    task_root: Path
    layer_paths: tuple[Path, ...]
    """Each layer's python directories, in the order Lambda puts /opt/python's on sys.path."""
    variables: dict[str, str]
    """The template's environment, resolved the way `sam local invoke` resolves it ("" when unresolvable)."""


def built_function(logical_id: str, build_dir: Path = BUILD_DIR) -> BuiltFunction:
    """Read one function from the built template with SAM CLI's own provider (as `sam local invoke` does)."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(build_dir / "template.yaml"))
    function = SamFunctionProvider(stacks).get(logical_id)
    if function is None:
        raise KeyError(f"{logical_id} is not a function in {build_dir / 'template.yaml'}")
    layer_paths: list[Path] = []
    for layer in function.layers:
        root = Path(layer.codeuri).resolve()
        # /opt/python/lib/python3.12/site-packages, then /opt/python
        # (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths)
        for path in (root / "python" / "lib" / f"python{LAMBDA_PYTHON}" / "site-packages", root / "python"):
            if path.is_dir():
                layer_paths.append(path)
    variables = (function.environment or {}).get("Variables") or {}
    return BuiltFunction(
        logical_id=logical_id,
        handler=function.handler,
        runtime=function.runtime,
        timeout=int(function.timeout),
        memory=int(function.memory),
        architectures=tuple(function.architectures or ("x86_64",)),
        task_root=Path(function.codeuri).resolve(),
        layer_paths=tuple(layer_paths),
        variables={name: _sam_string(value) for name, value in variables.items()},
    )


def sam_local_environment(
    logical_id: str, env_vars: Mapping[str, Any], build_dir: Path = BUILD_DIR, region: str = "us-east-1"
) -> dict[str, str]:
    """The environment `sam local invoke LOGICAL_ID --env-vars FILE` gives the function's container.

    Computed by SAM CLI's own code (LocalLambdaRunner._make_env_vars, aws-sam-cli pinned in
    requirements-dev.txt), with no container: an --env-vars entry reaches the function only when
    the template declares that variable.
    """
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(build_dir / "template.yaml"))
    provider = SamFunctionProvider(stacks)
    function = provider.get(logical_id)
    if function is None:
        raise KeyError(f"{logical_id} is not a function in {build_dir / 'template.yaml'}")
    runner = LocalLambdaRunner(
        local_runtime=None,  # type: ignore[arg-type] - only the environment is computed
        function_provider=provider,
        cwd=str(build_dir),
        real_path=str(ROOT),
        aws_region=region,
        env_vars_values=dict(env_vars),
    )
    return runner._make_env_vars(function).resolve()


def _sam_string(value: Any) -> str:
    # samcli.local.lambdafn.env_vars.EnvironmentVariables._stringify_value: intrinsics it cannot
    # resolve (and AWS::NoValue) become "", booleans "true"/"false".
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lambda_environment(
    function: BuiltFunction,
    *,
    region: str,
    endpoint_url: str,
    credentials: Mapping[str, str],
    variables: Mapping[str, str] = {},  # noqa: B006 - never mutated
    function_name: str | None = None,
    scratch: Path,
) -> dict[str, str]:
    """The environment Lambda gives the runtime process, aimed at `endpoint_url`, built from nothing.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    `credentials` holds AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary ones,
    AWS_SESSION_TOKEN. `variables` are the function's own, on top of the template's.
    `scratch` is a directory for this function's home and (absent) AWS config files.
    """
    name = function_name or function.logical_id
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    environment = {
        # The process basics Lambda sets; HOME is ours, so that nothing under the developer's home is read.
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": str(home),
        # The runtime's reserved variables.
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),  # read by RIE for the invoke deadline
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/28/[$LATEST]local",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(function.task_root),
        "PYTHONPATH": os.pathsep.join(str(path) for path in (function.task_root, *function.layer_paths)),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # RIE hands the runtime no X-Ray trace header, so the SDK (Tracing: Active) records nothing and
        # sends nothing; were it to send, it would be to loopback.
        "AWS_XRAY_DAEMON_ADDRESS": f"{LOOPBACK}:2000",
        # Only the sandbox, and only these credentials: no shared config, no profile, no instance metadata.
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": str(scratch / "aws-config-absent"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "aws-credentials-absent"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": credentials["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": credentials["AWS_SECRET_ACCESS_KEY"],
    }
    if credentials.get("AWS_SESSION_TOKEN"):
        environment["AWS_SESSION_TOKEN"] = credentials["AWS_SESSION_TOKEN"]
    # The template's variables first: none of them may take the sandbox endpoint or credentials away
    # (a template that declares AWS_ENDPOINT_URL for `sam local invoke` resolves it to "" here).
    return {**function.variables, **environment, **variables}


# -- RIE and the runtime ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class LocalLambda:
    """One function under RIE + awslambdaric, in a session of its own, on loopback only."""

    def __init__(
        self,
        function: BuiltFunction,
        environment: Mapping[str, str],
        workdir: Path,
        *,
        runtime_python: Path = RUNTIME_VENV / "bin" / "python",
        rie: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.function = function
        self.environment = dict(environment)
        self.workdir = workdir
        self.runtime_python = runtime_python
        self.rie = rie or rie_binary()
        self.start_timeout = start_timeout
        self.log_path = workdir / f"{function.logical_id}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.rie_address = ""
        self.runtime_api_address = ""

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        bootstrap = self.workdir / f"{self.function.logical_id}-bootstrap"
        # What /var/runtime/bootstrap does in Lambda's python3.12 image: start the interface client
        # with the handler; RIE has already set AWS_LAMBDA_RUNTIME_API.
        bootstrap.write_text(f'#!/bin/sh\nexec "{self.runtime_python}" -m awslambdaric "$_HANDLER"\n')
        bootstrap.chmod(0o755)
        self.rie_address = f"{LOOPBACK}:{free_loopback_port()}"
        self.runtime_api_address = f"{LOOPBACK}:{free_loopback_port()}"
        command = [
            str(self.rie),
            "--log-level",
            "info",
            "--runtime-interface-emulator-address",
            self.rie_address,
            "--runtime-api-address",
            self.runtime_api_address,
            str(bootstrap),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
                command,
                cwd=self.function.task_root,  # RIE runs the bootstrap in its own working directory
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: the runtime RIE starts stays in it (in a group of its own)
            )
        self._wait_until_accepting()
        return self

    def _wait_until_accepting(self) -> None:
        assert self.process is not None
        host, port = self.rie_address.rsplit(":", 1)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"RIE exited with {self.process.returncode} before listening:\n{self.log()}")
            try:
                with socket.create_connection((host, int(port)), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(
                        f"RIE did not accept on {self.rie_address} within {self.start_timeout}s"
                    ) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM RIE (it stops the runtime), then SIGKILL whatever of its session is left after `timeout`."""
        process, self.process = self.process, None
        if process is None:
            return
        session = process.pid  # start_new_session: the session id is RIE's pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            # RIE first; on SIGKILL, every process left in the session (each one started here).
            for pid in [session] if sig == signal.SIGTERM else session_members(session) or [session]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if process.poll() is not None and not session_members(session):
                    return
                time.sleep(0.05)
        process.wait(timeout=timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- use ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.rie_address}{INVOKE_PATH}"

    def invoke(self, event: Any, timeout: float | None = None) -> Invocation:
        """POST the event to RIE's invoke endpoint, as `sam local invoke` does; returns status and body."""
        request = urllib.request.Request(
            self.url, data=json.dumps(event).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        started = time.monotonic()
        try:
            # A loopback http:// URL built from our own port, never user input.
            with urllib.request.urlopen(request, timeout=timeout or self.function.timeout + 30) as response:  # noqa: S310
                status, body, headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, body, headers = error.code, error.read(), dict(error.headers)
        return Invocation(status=status, body=body, headers=headers, seconds=time.monotonic() - started)

    def pids(self) -> list[int]:
        """Every live process of this function's session: RIE and, once invoked, the runtime."""
        return session_members(self.process.pid) if self.process is not None else []

    def listening(self) -> set[tuple[str, int]]:
        """The (address, port) pairs that this function's processes listen on."""
        return listening_sockets(self.pids())

    def log(self, tail: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""


# -- /proc, to check what the processes do -----------------------------------------------------------


def session_members(session: int) -> list[int]:
    """Live (non-zombie) processes of session `session` (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces and ")", so split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def listening_sockets(pids: list[int]) -> set[tuple[str, int]]:
    """TCP sockets in LISTEN state held by `pids`, as (address, port) (Linux /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                continue
            address, port = local.split(":")
            found.add((_proc_address(address, width), int(port, 16)))
    return found


def _proc_address(hex_address: str, width: int) -> str:
    # /proc/net/tcp{,6} print each 32-bit word of the address in host (little-endian) byte order.
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8))
    return socket.inet_ntop(socket.AF_INET if width == 4 else socket.AF_INET6, raw)
