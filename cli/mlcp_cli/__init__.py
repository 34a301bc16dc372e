"""The `mlcp` command line (never deployed)."""
