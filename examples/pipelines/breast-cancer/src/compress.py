"""Compress the trained MLP for real: int8 quantization or magnitude pruning of its weight matrices, then score the
compressed weights on the ``validation`` channel again.

A SageMaker script-mode entry point (the compression training job): the best trial's model.tar.gz arrives in the
``model`` channel; ``--mlcp_method`` / ``--mlcp_dtype`` / ``--mlcp_target_sparsity`` come from the pipeline spec.
It prints ``validation-auc: X`` (the gate compares it with the best trial's) and writes the compressed model to
SM_MODEL_DIR (the gate measures both model.tar.gz in S3).
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile

import mlp
import numpy as np


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlcp_method", default="quantization")
    parser.add_argument("--mlcp_dtype", default="int8")
    parser.add_argument("--mlcp_target_sparsity", type=float, default=0.5)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--model", default=os.environ.get("SM_CHANNEL_MODEL", "base"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "data/validation"))
    args, _unknown = parser.parse_known_args(argv)  # the best trial's hyperparameters come along
    return args


def quantize(arrays):
    """int8 weights with one float32 scale per matrix (symmetric, max |w| -> 127); biases stay float32."""
    out = {k: v for k, v in arrays.items() if k not in ("W0", "W1")}
    for name in ("W0", "W1"):
        w = arrays[name]
        scale = np.float32(max(float(np.abs(w).max()), 1e-12) / 127.0)
        out["q_" + name] = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        out["scale_" + name] = np.array(scale, dtype=np.float32)
    return out


def prune(arrays, sparsity):
    """Magnitude pruning: the ``sparsity`` smallest |w| of each matrix set to zero, stored as bitmask + kept values."""
    out = {k: v for k, v in arrays.items() if k not in ("W0", "W1")}
    for name in ("W0", "W1"):
        w = arrays[name].ravel()
        keep = np.abs(w) > np.quantile(np.abs(w), sparsity)
        out["mask_" + name] = np.packbits(keep)
        out["kept_" + name] = w[keep].astype(np.float32)
        out["shape_" + name] = np.array(arrays[name].shape, dtype=np.int32)
    return out


def base_model(channel):
    """The trained model's folder: model.tar.gz from the channel, extracted."""
    archive = os.path.join(channel, "model.tar.gz")
    if not os.path.isfile(archive):
        return channel
    folder = tempfile.mkdtemp(prefix="base-model-")
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():  # model.npz and model.json, nothing outside the folder
            if member.isfile() and os.path.basename(member.name) == member.name:
                tar.extract(member, folder)
    return folder


def main(argv):
    args = parse_args(argv)
    folder = base_model(args.model)
    arrays, meta = mlp.load(folder)
    x_val, y_val = mlp.read_csv_folder(args.validation)
    before = mlp.auc(y_val, mlp.scores(arrays, x_val))
    if args.mlcp_method == "pruning":
        stored, storage = prune(arrays, args.mlcp_target_sparsity), "pruned"
    elif args.mlcp_dtype == "int8":
        stored, storage = quantize(arrays), "int8"
    else:
        sys.exit(f"compress.py: dtype {args.mlcp_dtype!r} is not supported (int8, or --mlcp_method pruning)")
    after = mlp.auc(y_val, mlp.scores(mlp.dense(stored, storage), x_val))
    meta = {**meta, "format": storage, "validation": {**meta.get("validation", {}), "auc": after}}
    mlp.save(args.model_dir, stored, meta)
    print(f"base-validation-auc: {before:.6f}")
    print(f"base-size-bytes: {mlp.weights_bytes(folder)}")
    print(f"model-size-bytes: {mlp.weights_bytes(args.model_dir)}")
    print(f"validation-auc: {after:.6f}")


if __name__ == "__main__":
    main(sys.argv[1:])
