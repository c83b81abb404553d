"""The embedded AWS emulator: moto in server mode on loopback, with fidelity extensions.

A development distribution of its own (sandbox/pyproject.toml); the healthaudit package and its Lambda
layer never import it. It adds the `sandbox` and `demo` commands to the `healthaudit` CLI.
"""

from healthaudit_sandbox.server import Sandbox, SandboxSession

__all__ = ["Sandbox", "SandboxSession"]
