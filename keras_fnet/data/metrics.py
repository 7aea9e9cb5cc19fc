"""Task metrics as plain numpy functions (backend independent).

GLUE reports accuracy for most tasks, Matthews correlation for CoLA, F1 and
accuracy for MRPC and QQP, and Pearson/Spearman correlations for STS-B.
The Long Range Arena tasks report accuracy.

Example:

>>> import numpy as np
>>> from keras_fnet.data.metrics import compute_metrics
>>> compute_metrics("glue/mrpc", np.array([1, 0, 1]), np.array([1, 1, 1]))
{'f1': 0.8, 'accuracy': 0.6666666666666666}
"""

import numpy as np


def _as_int_labels(predictions, labels):
    """Class ids from ids, logits `[N, C]` or probabilities `[N]` (>= 0.5 is 1)."""
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.ndim == labels.ndim + 1:  # logits -> class ids
        predictions = np.argmax(predictions, axis=-1)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"predictions shape {predictions.shape} does not match labels "
            f"shape {labels.shape}"
        )
    if np.issubdtype(predictions.dtype, np.floating) and predictions.size:
        if np.all((predictions >= 0) & (predictions <= 1)):
            predictions = predictions >= 0.5  # probabilities of class 1
        elif not np.all(predictions == np.round(predictions)):
            raise ValueError(
                "float predictions of the same shape as the labels must be "
                "probabilities in [0, 1] or whole class ids; got values from "
                f"{predictions.min():g} to {predictions.max():g}"
            )
    return predictions.astype(np.int64), labels.astype(np.int64)


def _binary_labels(predictions, labels, metric):
    """`_as_int_labels`, checked to hold only the class ids 0 and 1."""
    p, y = _as_int_labels(predictions, labels)
    for what, ids in (("predictions", p), ("labels", y)):
        other = np.setdiff1d(ids, [0, 1])
        if other.size:
            raise ValueError(
                f"{metric} scores binary tasks only (class ids 0 and 1); "
                f"{what} hold class id(s) {other[:5].tolist()}"
            )
    return p, y


def accuracy(predictions, labels):
    """Fraction of correct predictions.

    Args:
        predictions: class ids `[N]`, logits `[N, C]`, or probabilities of
            class 1 `[N]` (thresholded at 0.5).
        labels: class ids `[N]`.
    """
    p, y = _as_int_labels(predictions, labels)
    return float(np.mean(p == y)) if y.size else 0.0


def f1_score(predictions, labels, positive=1):
    """Binary F1 of the `positive` class (0.0 when undefined).

    Args:
        predictions: class ids 0/1 `[N]`, logits `[N, 2]` or probabilities of
            class 1 `[N]` (thresholded at 0.5).
        labels: class ids 0/1 `[N]`; other ids raise a `ValueError`.
    """
    p, y = _binary_labels(predictions, labels, "F1")
    tp = np.sum((p == positive) & (y == positive))
    fp = np.sum((p == positive) & (y != positive))
    fn = np.sum((p != positive) & (y == positive))
    denom = 2 * tp + fp + fn
    return float(2 * tp / denom) if denom else 0.0


def matthews_corrcoef(predictions, labels):
    """Matthews correlation coefficient for binary labels (0.0 if undefined).

    Args:
        predictions: as `f1_score`.
        labels: class ids 0/1 `[N]`; other ids raise a `ValueError`.
    """
    p, y = _binary_labels(predictions, labels, "Matthews correlation")
    tp = float(np.sum((p == 1) & (y == 1)))
    tn = float(np.sum((p == 0) & (y == 0)))
    fp = float(np.sum((p == 1) & (y == 0)))
    fn = float(np.sum((p == 0) & (y == 1)))
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / denom) if denom else 0.0


def pearson(predictions, labels):
    """Pearson correlation of two float vectors (0.0 if a side is constant)."""
    x = np.asarray(predictions, np.float64).ravel()
    y = np.asarray(labels, np.float64).ravel()
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.sum(x * y) / denom) if denom else 0.0


def _average_ranks(values):
    """Ranks 1..n, ties get the mean of the ranks they span."""
    values = np.asarray(values, np.float64).ravel()
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), np.float64)
    # Start index of each run of equal values.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0  # mean of ranks s+1 .. e
    return ranks


def spearman(predictions, labels):
    """Spearman rank correlation (Pearson of average ranks)."""
    return pearson(_average_ranks(predictions), _average_ranks(labels))


_TASK_METRICS = {
    "glue/cola": ("matthews_corrcoef",),
    "glue/mrpc": ("f1", "accuracy"),
    "glue/qqp": ("f1", "accuracy"),
    "glue/stsb": ("pearson", "spearman"),
}
_FUNCTIONS = {
    "accuracy": accuracy,
    "f1": f1_score,
    "matthews_corrcoef": matthews_corrcoef,
    "pearson": pearson,
    "spearman": spearman,
}


def metric_names(task_name):
    """Names of the metrics reported for `task_name` (default: accuracy)."""
    return _TASK_METRICS.get(task_name, ("accuracy",))


def compute_metrics(task_name, predictions, labels):
    """Compute every metric of `task_name`.

    Args:
        task_name: e.g. `"glue/cola"`, `"listops"`.
        predictions: class ids, logits `[N, C]`, probabilities of class 1
            `[N]` (thresholded at 0.5; F1 of `[0.9, 0.7, 0.2]` against
            `[1, 1, 0]` is 1.0), or floats for STS-B (`[N]` or `[N, 1]`).
        labels: ground truth `[N]`.

    Returns:
        dict metric name -> float.

    Raises:
        ValueError: shapes that do not match, or class ids other than 0/1
            for F1 or Matthews correlation (the message names them).
    """
    names = metric_names(task_name)
    if task_name == "glue/stsb":
        predictions = np.asarray(predictions).reshape(np.shape(labels))
    return {name: _FUNCTIONS[name](predictions, labels) for name in names}
