"""The final evaluation of a run: every evaluation split of the task, on one device.

`evaluate(model, task, prepared, ...)` returns `{split: metrics}` for each of
`prepared.eval_splits` (MNLI: `validation_matched` and `validation_mismatched`),
with the task's metrics (`keras_fnet.data.compute_metrics`), the number of
examples and, for classification, the majority-class accuracy of the split.
"""

import numpy as np


def evaluate_split(model, task, info, ds):
    """Metrics of `model` (uncompiled, single device) on the batches of `ds`."""
    from keras_fnet.compile_defaults import make_loss
    from keras_fnet.data import compute_metrics

    if task.kind == "pretraining":
        loss, metrics, weighted = make_loss(task.kind)
        model.compile(loss=loss, metrics=metrics, weighted_metrics=weighted)
        values = model.evaluate(ds, return_dict=True, verbose=0)
        return {"mlm_accuracy": float(values["mlm_accuracy"]),
                "nsp_accuracy": float(values["nsp_accuracy"]), "loss": float(values["loss"])}
    logits, labels = [], []
    for features, y in ds.as_numpy_iterator():
        logits.append(np.asarray(model.predict_on_batch(features)))
        labels.append(y)
    if not labels:
        raise ValueError("the split has no examples")
    logits, labels = np.concatenate(logits), np.concatenate(labels)
    result = dict(compute_metrics(info.name, logits, labels))
    result["num_examples"] = int(len(labels))
    if task.kind == "classification":
        counts = np.bincount(labels[labels >= 0], minlength=info.num_classes)
        result["majority_baseline"] = float(counts.max() / max(counts.sum(), 1))
    return result


def evaluate(model, task, prepared, batch_size, max_length, seed=0, eval_steps=None):
    """`{split: metrics}` for every evaluation split of the prepared task."""
    results = {}
    for split in prepared.eval_splits:
        ds = prepared.load(split, batch_size, max_length, shuffle=False, seed=seed)
        if eval_steps:
            ds = ds.take(eval_steps)
        results[split] = evaluate_split(model, task, prepared.info, ds)
    return results
