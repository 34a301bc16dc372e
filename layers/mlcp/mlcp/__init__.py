"""mlcp: the runtime core of the ML control plane (deployed as a Lambda layer)."""

__version__ = "0.1.0"
