"""The error that invalid configuration raises, apart from config.py so that the model can raise it too."""

from __future__ import annotations


class ConfigError(ValueError):
    """The config document is invalid; the message names the field, the value and the expectation."""
