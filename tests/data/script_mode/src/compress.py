"""Quantizes the model of the ``model`` channel (tests only: packaged, not run)."""

import os

print(f"model: {os.environ.get('SM_CHANNEL_MODEL')}")
print("validation:accuracy=0.5")
