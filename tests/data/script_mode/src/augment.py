"""Augments the training data in a processing job (tests only: packaged, not run)."""

import sys

print("arguments:", sys.argv[1:])
