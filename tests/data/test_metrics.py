"""Numpy metrics against scipy and hand-computed references."""

import numpy as np
import pytest
from scipy import stats

from keras_fnet.data import metrics


def test_accuracy_and_logits():
    y = np.array([0, 1, 2, 1])
    assert metrics.accuracy([0, 1, 1, 1], y) == 0.75
    logits = np.eye(3)[[0, 1, 2, 0]]
    assert metrics.accuracy(logits, y) == 0.75


def test_f1_and_mcc_hand_counts():
    p = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    tp, fp, fn, tn = 3, 2, 1, 2
    assert metrics.f1_score(p, y) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp)
                                        * (tn + fn))
    assert metrics.matthews_corrcoef(p, y) == pytest.approx(mcc)
    # Pearson of two binary vectors equals MCC.
    assert metrics.matthews_corrcoef(p, y) == pytest.approx(
        stats.pearsonr(p, y)[0])
    assert metrics.matthews_corrcoef([1, 1], [1, 1]) == 0.0


def test_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    y_ties = np.round(y)  # ties
    assert metrics.pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0])
    assert metrics.spearman(x, y_ties) == pytest.approx(
        stats.spearmanr(x, y_ties)[0])


def test_compute_metrics_per_task():
    assert set(metrics.compute_metrics("glue/cola", [1, 0], [1, 0])) == {
        "matthews_corrcoef"}
    assert set(metrics.compute_metrics("glue/qqp", [1, 0], [1, 0])) == {
        "f1", "accuracy"}
    out = metrics.compute_metrics("glue/stsb", np.array([[1.0], [2.0], [3.0]]),
                                  np.array([1.0, 2.5, 2.9]))
    assert set(out) == {"pearson", "spearman"} and out["spearman"] == 1.0
    assert metrics.compute_metrics("listops", [3], [3]) == {"accuracy": 1.0}
    with pytest.raises(ValueError, match="shape"):
        metrics.accuracy([1, 2], [1])


def test_float_probabilities_are_thresholded_at_one_half():
    # Issue 10 audit: [N] floats were truncated to 0 (F1 0.0).
    p, y = np.array([0.9, 0.7, 0.2]), np.array([1, 1, 0])
    assert metrics.compute_metrics("glue/mrpc", p, y) == {"f1": 1.0, "accuracy": 1.0}
    assert metrics.compute_metrics("glue/cola", [0.5, 0.49, 0.1, 0.8], [1, 0, 0, 0])[
        "matthews_corrcoef"] == pytest.approx(stats.pearsonr([1, 0, 0, 1], [1, 0, 0, 0])[0])
    # Whole-valued floats are class ids; other floats out of [0, 1] are refused.
    assert metrics.accuracy(np.array([3.0, 2.0]), [3, 1]) == 0.5
    with pytest.raises(ValueError, match="probabilities"):
        metrics.accuracy(np.array([1.5, 0.2]), [1, 0])


def test_binary_metrics_reject_other_class_ids():
    with pytest.raises(ValueError, match=r"Matthews.*labels hold class id\(s\) \[2\]"):
        metrics.compute_metrics("glue/cola", [0, 1, 1], [0, 1, 2])
    with pytest.raises(ValueError, match=r"F1.*predictions hold class id\(s\) \[-1, 3\]"):
        metrics.f1_score([3, -1, 1], [1, 0, 1])
    # Multi-class accuracy is unaffected.
    assert metrics.compute_metrics("listops", [7, 2], [7, 3]) == {"accuracy": 0.5}
