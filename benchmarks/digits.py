"""Tiny encoders of several families trained on scikit-learn's 8x8 digits.

`train_and_evaluate(preset, ...)` fits a classifier on the train split of
`keras_fnet.data.digits` and returns its test accuracy;

    KERAS_BACKEND=jax python -m benchmarks.digits --epochs 20 --seeds 0

runs it for several families and prints a table.
"""

import argparse
import time

from keras_fnet.config import FAMILIES
from keras_fnet.data.digits import LAYOUTS, NUM_CLASSES, arrays, info


def train_and_evaluate(preset="fnet_tiny", epochs=30, batch_size=32, learning_rate=1e-3,
                       seed=0, layout="rows", **overrides):
    """Train a classifier on the train split; return its test accuracy.

    The model is `preset` with the task's `model_overrides`, `dropout=0.0`
    and any `overrides`; AdamW at a constant `learning_rate`; the weights of
    the epoch with the best validation accuracy are evaluated on the test
    split.

    Returns:
        A dict: `test_accuracy`, `validation_accuracy` (best), `epochs`,
        `train_time_s`.
    """
    import keras

    import keras_fnet

    keras.utils.set_random_seed(seed)
    fields = {"dropout": 0.0, **info(layout)["model_overrides"], **overrides}
    model = keras_fnet.build_classifier(preset, num_classes=NUM_CLASSES,
                                        learning_rate=learning_rate, **fields)
    train = arrays("train", layout)
    validation = arrays("validation", layout)
    best_accuracy, best_weights = -1.0, None
    start = time.time()
    for _ in range(epochs):
        model.fit(*train, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)
        scores = model.evaluate(*validation, batch_size=256, verbose=0, return_dict=True)
        accuracy = scores["accuracy"]
        if accuracy > best_accuracy:
            best_accuracy, best_weights = accuracy, model.get_weights()
    train_time = time.time() - start
    model.set_weights(best_weights)
    test = model.evaluate(*arrays("test", layout), batch_size=256, verbose=0, return_dict=True)
    return {
        "test_accuracy": float(test["accuracy"]),
        "validation_accuracy": float(best_accuracy),
        "epochs": epochs,
        "train_time_s": round(train_time, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train tiny encoders of several families on the 8x8 digits; print test "
        "accuracy.")
    parser.add_argument("--families", nargs="+", default=["fnet", "bert", "ff_only", "random"],
                        choices=list(FAMILIES), metavar="FAMILY",
                        help=f"families (size tiny), from {', '.join(FAMILIES)}.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds.")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run.")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="rows",
                        help="image to sequence.")
    args = parser.parse_args(argv)
    print("| family | seed | test accuracy | best validation accuracy | train time (s) |")
    print("|---|---|---|---|---|")
    for family in args.families:
        for seed in args.seeds:
            result = train_and_evaluate(f"{family}_tiny", epochs=args.epochs, seed=seed,
                                        layout=args.layout)
            print(f"| {family} | {seed} | {result['test_accuracy']:.4f} | "
                  f"{result['validation_accuracy']:.4f} | {result['train_time_s']} |", flush=True)


if __name__ == "__main__":
    main()
