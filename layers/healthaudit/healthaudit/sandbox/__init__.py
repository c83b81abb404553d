"""The embedded AWS emulator: moto in server mode on loopback, with fidelity extensions.

Needs the optional ``sandbox`` extra (moto[server]); nothing else in healthaudit imports moto.
"""

from healthaudit.sandbox.server import Sandbox, SandboxSession

__all__ = ["Sandbox", "SandboxSession"]
