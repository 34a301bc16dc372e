"""Trains under the SageMaker training toolkit's contract (tests only: its content is packaged, not run)."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--max_depth", type=int, default=3)
parser.add_argument("--n_estimators", type=int, default=100)
args, _ = parser.parse_known_args()
print(f"train dir: {os.environ.get('SM_CHANNEL_TRAIN')}; model dir: {os.environ.get('SM_MODEL_DIR')}")
print("validation:accuracy=0.5")
