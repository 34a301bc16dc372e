"""Oversample the minority class of the training CSVs with jittered copies (a SageMaker Processing entry point).

Run by SageMaker's FrameworkProcessor (runproc.sh) in the scikit-learn container, or by mlcp's local job runner:
it takes its folders from its arguments only (``--input``, ``--output``), standard library only.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="/opt/ml/processing/input/train")
    parser.add_argument("--output", default="/opt/ml/processing/output/train")
    parser.add_argument("--oversample-minority", type=float, default=1.5, help="minority rows x this factor")
    parser.add_argument("--jitter", type=float, default=0.02, help="noise, in standard deviations of each feature")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def read_rows(folder):
    header, rows = None, []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv"):
            with open(os.path.join(folder, name), newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                rows += [[float(v) for v in row] for row in reader if row]
    if header is None:
        sys.exit(f"augment.py: no CSV file in {folder}")
    return header, rows


def main(argv):
    args = parse_args(argv)
    header, rows = read_rows(args.input)
    labels = [int(row[0]) for row in rows]
    minority = min(set(labels), key=labels.count)
    pool = [row for row in rows if int(row[0]) == minority]
    spread = [statistics.pstdev(column) for column in zip(*rows)]
    rng = random.Random(args.seed)
    extra = []
    for _ in range(round(len(pool) * (args.oversample_minority - 1))):
        row = rng.choice(pool)
        extra.append([row[0]] + [v + rng.gauss(0.0, args.jitter * s) for v, s in zip(row[1:], spread[1:])])
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "train.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([int(r[0])] + [f"{v:.6g}" for v in r[1:]] for r in rows + extra)
    print(f"rows: {len(rows)} -> {len(rows) + len(extra)} (label {minority} x{args.oversample_minority:g})")


if __name__ == "__main__":
    main(sys.argv[1:])
