"""A one-hidden-layer perceptron's weights as plain NumPy arrays: save, load, score, compress.

Shared by train.py, compress.py and the batch worker; it imports NumPy only, so the same files run in SageMaker's
scikit-learn container and in the local job runner.
"""

from __future__ import annotations

import json
import os

import numpy as np

WEIGHTS = "model.npz"
META = "model.json"


def save(folder, arrays, meta):
    """Write ``arrays`` (name -> ndarray) to model.npz and ``meta`` to model.json in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, WEIGHTS), "wb") as f:
        np.savez(f, **arrays)
    with open(os.path.join(folder, META), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def load(folder):
    """(arrays, meta) of a model saved by :func:`save`, dense float32 weights whatever its storage format."""
    with open(os.path.join(folder, META)) as f:
        meta = json.load(f)
    with np.load(os.path.join(folder, WEIGHTS)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return dense(arrays, meta.get("format", "float32")), meta


def dense(arrays, storage):
    """float32 weights from the stored form: float32, int8 (per-matrix scale) or pruned (bitmask + kept values)."""
    out = {k: v for k, v in arrays.items() if not k.startswith(("q_", "scale_", "mask_", "kept_", "shape_"))}
    for name in ("W0", "W1"):
        if storage == "int8":
            out[name] = arrays["q_" + name].astype(np.float32) * arrays["scale_" + name]
        elif storage == "pruned":
            shape = tuple(int(n) for n in arrays["shape_" + name])
            mask = np.unpackbits(arrays["mask_" + name])[: int(np.prod(shape))].astype(bool)
            flat = np.zeros(mask.size, dtype=np.float32)
            flat[mask] = arrays["kept_" + name]
            out[name] = flat.reshape(shape)
    return out


def scores(arrays, features):
    """P(label = 1) for each row of ``features`` (raw, unscaled)."""
    x = (np.asarray(features, dtype=np.float32) - arrays["mean"]) / arrays["scale"]
    hidden = np.maximum(x @ arrays["W0"] + arrays["b0"], 0.0)
    logits = np.clip(hidden @ arrays["W1"] + arrays["b1"], -30.0, 30.0)
    return 1.0 / (1.0 + np.exp(-logits[:, 0]))


def read_csv_folder(folder):
    """(features, labels) of every CSV file in ``folder`` (header row; the label in the first column)."""
    files = sorted(
        os.path.join(root, name) for root, _, names in os.walk(folder) for name in names if name.endswith(".csv")
    )
    if not files:
        raise ValueError(f"no CSV file in {folder}")
    data = np.vstack([np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2) for path in files])
    return data[:, 1:], data[:, 0]


def auc(labels, predicted):
    """ROC AUC (the Mann-Whitney statistic, ties counted half)."""
    labels = np.asarray(labels).astype(bool)
    positive, negative = predicted[labels], predicted[~labels]
    if positive.size == 0 or negative.size == 0:
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (positive.size * negative.size))


def weights_bytes(folder):
    return os.path.getsize(os.path.join(folder, WEIGHTS))
