"""devplane: a self-hosted control plane for development workspaces and AI agents."""

__version__ = "0.1.0"
