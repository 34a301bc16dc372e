"""Train a one-hidden-layer perceptron (ReLU, logistic output, Adam, L2) on the ``train`` channel, score it on
``validation``, save its weights.

A SageMaker script-mode entry point: it reads only the training toolkit's SM_* variables and its ``--name value``
hyperparameters, prints ``validation-auc: X`` for the tuning job's metric definition, and writes model.npz +
model.json to SM_MODEL_DIR (SageMaker tars that folder to model.tar.gz). NumPy only, so it runs unchanged in
SageMaker's scikit-learn (or any Python) container and starts fast as a local process (importing scikit-learn
alone takes seconds per trial on a small machine).
"""

from __future__ import annotations

import argparse
import os
import sys

import mlp
import numpy as np


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden_units", type=int, default=64)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "data/validation"))
    args, _unknown = parser.parse_known_args(argv)  # SageMaker also passes --_tuning_objective_metric
    return args


def fit(x, y, args):
    """Mini-batch Adam on the mean binary cross-entropy + alpha/2 * ||W||^2; returns the weights and the last loss."""
    rng = np.random.default_rng(args.seed)
    n, d = x.shape
    h = args.hidden_units
    params = {
        "W0": rng.normal(0.0, np.sqrt(2.0 / d), (d, h)),
        "b0": np.zeros(h),
        "W1": rng.normal(0.0, np.sqrt(1.0 / h), (h, 1)),
        "b1": np.zeros(1),
    }
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    beta1, beta2, step = 0.9, 0.999, 0
    loss = float("nan")
    for _epoch in range(args.epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, args.batch_size):
            rows = order[start : start + args.batch_size]
            xb, yb = x[rows], y[rows][:, None]
            hidden = np.maximum(xb @ params["W0"] + params["b0"], 0.0)
            p = 1.0 / (1.0 + np.exp(-np.clip(hidden @ params["W1"] + params["b1"], -30, 30)))
            total += float(-(yb * np.log(p + 1e-12) + (1 - yb) * np.log(1 - p + 1e-12)).sum())
            g_out = (p - yb) / len(rows)
            g_hidden = (g_out @ params["W1"].T) * (hidden > 0)
            grads = {
                "W1": hidden.T @ g_out + args.alpha * params["W1"],
                "b1": g_out.sum(axis=0),
                "W0": xb.T @ g_hidden + args.alpha * params["W0"],
                "b0": g_hidden.sum(axis=0),
            }
            step += 1
            for k, g in grads.items():
                m, v = moments[k]
                m[:] = beta1 * m + (1 - beta1) * g
                v[:] = beta2 * v + (1 - beta2) * g * g
                m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
                params[k] -= args.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        loss = total / n
    return params, loss


def main(argv):
    args = parse_args(argv)
    x_train, y_train = mlp.read_csv_folder(args.train)
    x_val, y_val = mlp.read_csv_folder(args.validation)
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0) + 1e-9
    params, loss = fit((x_train - mean) / scale, y_train, args)
    arrays = {"mean": mean, "scale": scale, **params}
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
    predicted = mlp.scores(arrays, x_val)
    auc = mlp.auc(y_val, predicted)
    accuracy = float(((predicted >= 0.5) == y_val.astype(bool)).mean())
    print(f"train-loss: {loss:.6f}")
    print(f"validation-accuracy: {accuracy:.6f}")
    print(f"validation-auc: {auc:.6f}")
    hyper = {k: getattr(args, k) for k in ("hidden_units", "learning_rate", "alpha", "epochs", "batch_size")}
    meta = {"format": "float32", "hyperparameters": hyper, "validation": {"auc": auc, "accuracy": accuracy}}
    mlp.save(args.model_dir, arrays, meta)
    print(f"model-size-bytes: {mlp.weights_bytes(args.model_dir)}")


if __name__ == "__main__":
    main(sys.argv[1:])
