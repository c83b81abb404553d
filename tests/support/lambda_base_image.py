"""Lambda's python3.12 base image, built locally for machines that cannot reach public.ecr.aws.

`sam local invoke` runs a ZIP function in an image it derives from
``public.ecr.aws/lambda/python:3.12-<architecture>`` (samcli/local/docker/lambda_image.py in SAM
CLI 1.170.0: ``FROM`` that image, ``ADD`` the Runtime Interface Emulator to ``/var/rapid``, ``RUN mv``
and ``chmod``, ``ADD`` the layers to ``/opt``), then starts ``/var/rapid/aws-lambda-rie`` with no
command, so the emulator runs ``/var/runtime/bootstrap``. With ``--skip-pull-image`` it never pulls;
it only needs the base image under that name.

This module assembles that base image from what the machine already has, and tags it so:

- ``/var/lang``: the python3.12 interpreter (``pyenv prefix 3.12.1``; the standard library without
  its tests, GUI and build files), on ``PATH`` first, as in Lambda's image.
- ``/var/runtime``: awslambdaric with boto3 (Lambda's runtime ships both), from ``.venv-runtime``
  (tests/support/runtime-requirements.txt, installed with hashes), and ``bootstrap``, which starts
  the interface client with the function's handler and Lambda's documented module search path
  (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath).
- ``/var/task`` (``WORKDIR``, where SAM mounts the function), ``/opt`` (the layers), ``/tmp``.
- ``/bin/sh``, ``mv``, ``chmod``, ``cp`` and ``rm`` for SAM's derived image's ``RUN`` lines, and the
  shared libraries every binary and extension module links against (read with ``ldd``).
- The image's environment and entry point as the Lambda base images document them
  (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html#runtimes-images-lp:
  ``LAMBDA_TASK_ROOT``, ``LAMBDA_RUNTIME_DIR``, ``/lambda-entrypoint.sh``).

The image is for this machine's architecture (x86_64 here): template.yaml's ``Architecture``
parameter is set to match in samconfig.toml's ``local_invoke`` section. Run it as
``python -m tests.support.lambda_base_image`` (``make local-invoke-docker`` does).
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import local_invoke

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_SITE_PACKAGES = local_invoke.RUNTIME_VENV / "lib" / f"python{local_invoke.LAMBDA_PYTHON}" / "site-packages"

#: Docker's names for the machine architectures Lambda has (the image's architecture is the machine's).
LAMBDA_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

#: Standard library parts a Lambda function never imports: tests, GUI, the build's static library.
STDLIB_LEFT_OUT = {
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "site-packages",
    "__pycache__",
    "pydoc_data",
}
#: Distributions of .venv-runtime that are tools, not the runtime.
RUNTIME_LEFT_OUT = {"pip", "__pycache__", "_distutils_hack", "setuptools", "pkg_resources"}

SHELL_TOOLS = ("sh", "mv", "chmod", "cp", "rm", "ls", "cat")

BOOTSTRAP = """#!/bin/sh
# Lambda's module search path for Python: the function, the layers, then the runtime's own packages.
export PYTHONPATH="/var/task:/opt/python/lib/python3.12/site-packages:/opt/python:/var/runtime"
exec /var/lang/bin/python3.12 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
"""

# What the base image's entry point does when a container is run without SAM: the emulator if it is
# there (SAM's derived image), else the runtime's bootstrap.
ENTRYPOINT = """#!/bin/sh
if [ $# -ge 1 ]; then export _HANDLER="$1"; fi
if [ -x /var/rapid/aws-lambda-rie ]; then exec /var/rapid/aws-lambda-rie --log-level error; fi
exec /var/runtime/bootstrap
"""

ENVIRONMENT = {
    "LANG": "en_US.UTF-8",
    "TZ": ":/etc/localtime",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
}


def lambda_architecture(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    if machine not in LAMBDA_ARCHITECTURES:
        raise RuntimeError(f"Lambda has no architecture for machine {machine!r}")
    return LAMBDA_ARCHITECTURES[machine]


def image_name(architecture: str | None = None) -> str:
    """The base image SAM CLI derives its invoke image from, for python3.12 (as it names it)."""
    from samcli.local.docker.lambda_image import LambdaImage, Runtime

    tag = Runtime.get_image_name_tag("python3.12", architecture or lambda_architecture())
    return f"{LambdaImage._INVOKE_REPO_PREFIX}/{tag}"


@dataclass(frozen=True)
class BuiltImage:
    name: str
    seconds: float
    size_bytes: int
    built: bool
    """False when an image of that name was already there."""


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True, check=False).returncode == 0


def ensure_image(python312: Path, *, rebuild: bool = False) -> BuiltImage:
    """Build and tag the base image unless an image of its name is there already."""
    name = image_name()
    started = time.monotonic()
    if not rebuild and image_exists(name):
        return BuiltImage(name, time.monotonic() - started, _image_size(name), built=False)
    local_invoke.ensure_runtime_venv(python312)
    archive = rootfs_archive(python312)
    changes = [f"ENV {key}={value}" for key, value in ENVIRONMENT.items()]
    changes += ["WORKDIR /var/task", 'ENTRYPOINT ["/lambda-entrypoint.sh"]']
    command = ["docker", "import", *(arg for change in changes for arg in ("--change", change)), "-", name]
    result = subprocess.run(command, input=archive, capture_output=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"docker import failed: {result.stderr.decode(errors='replace')}")
    return BuiltImage(name, time.monotonic() - started, _image_size(name), built=True)


def _image_size(name: str) -> int:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", name], capture_output=True, text=True, check=False
    )
    return int(result.stdout.strip() or 0)


# -- the root file system --------------------------------------------------------------------------


def rootfs_archive(python312: Path) -> bytes:
    """The image's file system as an uncompressed tar archive."""
    prefix = python312.resolve().parents[1]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory, mode in (
            ("var", 0o755),
            ("var/task", 0o755),
            ("var/runtime", 0o755),
            ("var/lang", 0o755),
            ("opt", 0o755),
            ("tmp", 0o1777),
            ("etc", 0o755),
            ("bin", 0o755),
            ("proc", 0o555),
            ("dev", 0o755),
            ("sys", 0o555),
        ):
            _add_directory(tar, directory, mode)
        _add_tree(tar, prefix / "bin", "var/lang/bin", skip=lambda path: not path.name.startswith("python3"))
        _add_tree(tar, prefix / "lib", "var/lang/lib", skip=_left_out_of_lang_lib)
        _add_tree(tar, RUNTIME_SITE_PACKAGES, "var/runtime", skip=_left_out_of_runtime)
        _add_file(tar, "var/runtime/bootstrap", BOOTSTRAP.encode(), 0o755)
        _add_file(tar, "lambda-entrypoint.sh", ENTRYPOINT.encode(), 0o755)
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/sh\n")
        _add_file(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        _add_file(tar, "etc/localtime", Path("/usr/share/zoneinfo/UTC").read_bytes())
        tools = [Path(shutil.which(tool) or f"/bin/{tool}").resolve() for tool in SHELL_TOOLS]
        for tool, resolved in zip(SHELL_TOOLS, tools, strict=True):
            _add_file(tar, f"bin/{tool}", resolved.read_bytes(), 0o755)
        binaries = [
            python312.resolve(),
            *tools,
            *_extension_modules(prefix),
            *_extension_modules(RUNTIME_SITE_PACKAGES),
        ]
        for library in sorted(_shared_libraries(binaries)):
            if library.is_relative_to(prefix):
                continue  # libpython is under /var/lang/lib already
            _add_file(tar, str(library).lstrip("/"), library.resolve().read_bytes(), 0o755)
    return buffer.getvalue()


def _left_out_of_lang_lib(path: Path) -> bool:
    parts = set(path.parts)
    return bool(parts & STDLIB_LEFT_OUT) or path.name.startswith("config-") or path.suffix == ".a"


def _left_out_of_runtime(path: Path) -> bool:
    top = path.parts[0] if path.parts else ""
    return (
        top in RUNTIME_LEFT_OUT
        or top.startswith(("pip-", "setuptools-"))
        or "__pycache__" in path.parts
        or top.endswith(".pth")
    )


def _extension_modules(root: Path) -> Iterator[Path]:
    yield from root.rglob("*.so")


def _shared_libraries(binaries: Iterable[Path]) -> set[Path]:
    """Every shared library `binaries` load, with the dynamic loader, by the path the loader finds them at."""
    found: set[Path] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            fields = line.split()
            if "=>" in fields and len(fields) >= 3 and fields[2].startswith("/"):
                found.add(Path(fields[2]))
            elif fields and fields[0].startswith("/"):
                found.add(Path(fields[0]))  # the dynamic loader
    return found


def _add_directory(tar: tarfile.TarFile, name: str, mode: int) -> None:
    _directories(tar).add(name)
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    parent = Path(name).parent
    for ancestor in [*reversed(parent.parents), parent]:
        if str(ancestor) != "." and str(ancestor) not in _directories(tar):
            _add_directory(tar, str(ancestor), 0o755)
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _directories(tar: tarfile.TarFile) -> set[str]:
    """The directories already in the archive (each added once, before what it holds)."""
    if not hasattr(tar, "healthaudit_directories"):
        tar.healthaudit_directories = set()  # type: ignore[attr-defined]
    return tar.healthaudit_directories  # type: ignore[attr-defined]


def _add_tree(tar: tarfile.TarFile, source: Path, target: str, *, skip) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if skip(relative):
            continue
        name = f"{target}/{relative}"
        if path.is_symlink():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
            tar.addfile(info)
        elif path.is_dir():
            if name not in _directories(tar):
                _add_directory(tar, name, 0o755)
        elif path.is_file():
            _add_file(tar, name, path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)


def main() -> int:
    python312 = local_invoke.find_python312()
    if python312 is None:
        print(
            f"no python{local_invoke.LAMBDA_PYTHON} found (pyenv prefix {local_invoke.PYENV_VERSION})", file=sys.stderr
        )
        return 1
    image = ensure_image(python312, rebuild="--rebuild" in sys.argv[1:])
    verb = "built" if image.built else "already there:"
    print(f"{verb} {image.name} ({image.size_bytes / 1e6:.0f} MB) in {image.seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
