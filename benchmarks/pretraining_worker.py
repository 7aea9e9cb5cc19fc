"""One run of the pretraining study, in its own process: pretrain, then fine-tune downstream.

    python -m benchmarks.pretraining_worker CONFIG.json   # run (or resume) CONFIG's run

`benchmarks.pretraining` writes CONFIG (a dict, see `run`) and starts this
module with the backend of the study. The run:

1. pretrains the model on the study's prepared sequences (the pretraining
   task of `keras_fnet.data`: SentencePiece ids, BERT masking, NSP pairs),
   with the objective `mlm` (masked-LM only: the model has no NSP head) or
   `mlm+nsp` (the paper's), AdamW with warm-up and linear decay
   (`training.optim`), checkpointing and validating every `eval_every`
   steps (`training.checkpoints`, `training.callbacks`); an interrupted run
   resumes from its last checkpoint on the same batches;
2. measures MLM (and NSP) accuracy on the held-out validation paragraphs
   (for choosing learning rates) and on the held-out test paragraphs;
3. fine-tunes each downstream task through the training API
   (`training.run.train`, from the pretrained encoder) and keeps every test
   example's correctness, for bootstrap intervals.

The families are the zoo's (`keras_fnet.FAMILIES`) and keras-hub's own
`BertMaskedLM` on `BertBackbone` and `FNetMaskedLM` on `FNetBackbone`
(`keras_hub_bert`, `keras_hub_fnet`: MLM only, same inputs, loss, optimizer
and schedule; not fine-tuned). `result.json` in the run directory holds the
finished run; a finished run is returned without training.
"""

import json
import os
import sys
import time

RESULT_FILE = "result.json"
PRETRAINED_FILE = "pretrainer.keras"


def _pretrain_dataset(prepared, split, cfg, training, objective):
    """`(features, labels, weights)` batches in the form the run's model takes."""
    ds = prepared.load(split, cfg["batch_size"], cfg["max_length"], shuffle=training,
                       seed=cfg["seed"], repeat=training, drop_remainder=True)
    if objective == "mlm+nsp":
        return ds  # The batches carry both outputs' sample weights.
    names = REFERENCE_INPUTS.get(cfg["family"])

    def mlm_only(x, y, w):
        x = {k: v for k, v in x.items() if names is None or k in names}
        return x, y["mlm"], w["mlm"]

    return ds.map(mlm_only)


# keras-hub's masked LMs and their inputs (FNet has no padding mask).
REFERENCE_INPUTS = {
    "keras_hub_bert": ("token_ids", "segment_ids", "padding_mask", "mask_positions"),
    "keras_hub_fnet": ("token_ids", "segment_ids", "mask_positions"),
}


def _reference_model(family, dims, vocabulary_size, max_length, dropout):
    import keras_hub

    kwargs = dict(vocabulary_size=vocabulary_size, num_layers=dims["num_layers"],
                  hidden_dim=dims["hidden_dim"], intermediate_dim=dims["intermediate_dim"],
                  dropout=dropout, max_sequence_length=max_length)
    if family == "keras_hub_bert":
        backbone = keras_hub.models.BertBackbone(num_heads=dims["num_heads"], **kwargs)
        return keras_hub.models.BertMaskedLM(backbone, preprocessor=None), None
    backbone = keras_hub.models.FNetBackbone(**kwargs)
    return keras_hub.models.FNetMaskedLM(backbone, preprocessor=None), None


def build_model(cfg, vocabulary_size):
    """`(model trained, Pretrainer saved for fine-tuning or None)`, uncompiled."""
    import keras

    import keras_fnet

    dims, objective = cfg["dims"], cfg["objective"]
    dropout = keras_fnet.get_config(f"{_zoo_family(cfg['family'])}_tiny").dropout
    if cfg["family"] in REFERENCE_INPUTS:
        if objective != "mlm":
            raise ValueError(f"{cfg['family']}: keras-hub's masked LM has no NSP head; "
                             "use the objective mlm.")
        return _reference_model(cfg["family"], dims, vocabulary_size, cfg["max_length"],
                                dropout)
    encoder = keras_fnet.build_encoder(f"{cfg['family']}_tiny", vocabulary_size=vocabulary_size,
                                       max_sequence_length=cfg["max_length"], **dims)
    pretrainer = keras_fnet.Pretrainer(encoder)
    if objective == "mlm+nsp":
        return pretrainer, pretrainer
    # MLM only: the masked-LM output alone, so no NSP head is trained (or counted).
    return keras.Model(pretrainer.input, pretrainer.output["mlm"], name="mlm_only"), pretrainer


def _zoo_family(family):
    return {"keras_hub_bert": "bert", "keras_hub_fnet": "fnet"}.get(family, family)


def compile_model(model, cfg):
    import keras

    import keras_fnet
    from keras_fnet import compile_defaults
    from training import optim

    schedule = optim.WarmupLinearDecay(cfg["learning_rate"], cfg["steps"] // 10, cfg["steps"])
    if cfg["objective"] == "mlm+nsp":
        loss, metrics, weighted = keras_fnet.pretraining_losses()
    else:  # The zoo's MLM loss: cross-entropy averaged over the real predictions.
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight")
        metrics, weighted = None, [keras.metrics.SparseCategoricalAccuracy(name="mlm_accuracy")]
    model.compile(optimizer=compile_defaults.make_optimizer(schedule), loss=loss, metrics=metrics,
                  weighted_metrics=weighted)
    model.optimizer.build(model.trainable_variables)


def _accuracies(values):
    """`{mlm_accuracy, nsp_accuracy}` from Keras logs (NaN NSP for MLM only)."""
    mlm = next(v for k, v in values.items() if k.endswith("mlm_accuracy"))
    nsp = [v for k, v in values.items() if k.endswith("nsp_accuracy")]
    return {"mlm_accuracy": float(mlm), "nsp_accuracy": float(nsp[0]) if nsp else float("nan")}


def gain_last_quarter(history, steps):
    """Validation MLM accuracy at the end minus at 3/4 of the steps (None: not validated)."""
    points = list(zip(history.get("val_step", []), history.get("val_mlm_accuracy", [])))
    before = [a for s, a in points if s <= 0.75 * steps]
    if not points or not before or points[-1][0] != steps:
        return None
    return points[-1][1] - before[-1]


def pretrain(cfg, run_dir, callbacks=()):
    """Pretrain (or resume); returns the pretraining results. `callbacks`: extra Keras
    callbacks of `fit` (test fault hooks)."""
    import keras

    from keras_fnet.data.tasks import TaskOptions, get_task
    from training import callbacks as cb
    from training import checkpoints
    from training.run_dir import RunDir, fingerprint

    files, objective = cfg["files"], cfg["objective"]
    task = get_task("pretrain")
    keras.utils.set_random_seed(cfg["seed"])

    def prepared(validation):
        return task.prepare(TaskOptions(
            corpus=(files["pretrain"],), corpus_validation=(files[validation],),
            vocabulary=files["vocabulary"], seed=cfg["seed"], work_dir=run_dir))

    with RunDir(run_dir) as run:
        identity = {k: cfg[k] for k in ("family", "dims", "seed", "steps", "learning_rate",
                                        "objective", "batch_size", "max_length")}
        run.claim(identity)
        run.record(spec=identity)
        data = prepared("heldout_validation")
        train_ds = _pretrain_dataset(data, "train", cfg, True, objective)
        valid_ds = _pretrain_dataset(data, "validation", cfg, False, objective)
        model, pretrainer = build_model(cfg, data.info.vocabulary_size)
        compile_model(model, cfg)
        mark = fingerprint({"identity": identity, "parameters": model.count_params()})
        start_step, state = checkpoints.restore(model, run, mark)
        if start_step:
            print(f"resuming from step {start_step}", flush=True)
            train_ds = train_ds.skip(start_step)
        history = cb.History(state.get("history"), start_step)
        every = min(cfg["eval_every"], cfg["steps"])
        earlier, started = state.get("train_time_s", 0.0), time.time()
        state_fn = lambda: {"fingerprint": mark, "history": history.values,  # noqa: E731
                            "train_time_s": round(earlier + time.time() - started, 2)}
        fit_callbacks = [history, cb.Checkpointer(run, every, state_fn, start_step),
                         cb.StopAtStep(cfg["steps"], start_step), *callbacks]
        if start_step < cfg["steps"]:
            model.fit(train_ds, validation_data=valid_ds.take(cfg["validation_batches"]),
                      initial_epoch=start_step // every, epochs=-(-cfg["steps"] // every),
                      steps_per_epoch=every, callbacks=fit_callbacks, shuffle=False, verbose=2)
        train_time = earlier + time.time() - started
        if start_step < cfg["steps"]:  # Again, with the last validation pass in its history.
            checkpoints.save(model, run, dict(state_fn(), step=checkpoints.optimizer_step(model)))
        evaluation = {"validation": _accuracies(model.evaluate(
            valid_ds.take(cfg["eval_batches"]), return_dict=True, verbose=0))}
        test_ds = _pretrain_dataset(prepared("heldout_test"), "validation", cfg, False,
                                    objective)
        evaluation["test"] = _accuracies(model.evaluate(
            test_ds.take(cfg["eval_batches"]), return_dict=True, verbose=0))
        if pretrainer is not None:
            run.write_whole(PRETRAINED_FILE, pretrainer.save)
        return {"steps": checkpoints.optimizer_step(model), "train_time_s": round(train_time, 2),
                "parameters": int(model.count_params()), "evaluation": evaluation,
                "history": history.values, "backend": keras.backend.backend(),
                "resumed_from_step": start_step,
                "mlm_gain_last_quarter": gain_last_quarter(history.values, cfg["steps"])}


def finetune(cfg, run_dir, name, task_cfg):
    """Fine-tune downstream task `name` from the pretrained encoder; test accuracy and the
    correctness (0/1) of every test example, in file order."""
    import keras
    import numpy as np

    from training import run as api
    from training.spec import RunSpec

    spec = RunSpec(
        task="text_classification", init_from=os.path.join(run_dir, PRETRAINED_FILE),
        vocabulary=cfg["files"]["vocabulary"], train_file=task_cfg["train"],
        validation_file=task_cfg["validation"], test_file=task_cfg["test"],
        text_pair_column=task_cfg.get("text_pair_column"), max_length=cfg["max_length"],
        batch_size=cfg["batch_size"], steps=cfg["finetune_steps"],
        learning_rate=cfg["finetune_learning_rate"], seed=cfg["seed"], eval_every=0,
        checkpoint_every=0, log_every=10, verbose=0,
        output_dir=os.path.join(run_dir, f"finetune_{name}"))
    results = api.train(spec)
    plan = api.resolve(spec.validated())
    api.prepare(plan)
    model = keras.saving.load_model(os.path.join(spec.run_dir, api.MODEL_FILE), compile=False)
    correct = []
    ds = plan.prepared.load("test", spec.batch_size, plan.max_length, shuffle=False,
                            seed=spec.seed)
    for features, labels in ds.as_numpy_iterator():
        logits = np.asarray(model.predict_on_batch(features))
        correct += (logits.argmax(-1) == labels).astype(int).tolist()
    accuracy = float(np.mean(correct))
    return {"accuracy": accuracy, "api_accuracy": float(results["metrics"]["accuracy"]),
            "correct": "".join(map(str, correct)), "train_time_s": results["train_time_s"]}


def run(cfg):
    """The run of `cfg` (trained, resumed or read back); returns `result.json`'s dict.

    `cfg` keys: family, dims (num_layers, hidden_dim, intermediate_dim,
    num_heads), seed, steps, learning_rate, objective, batch_size,
    max_length, eval_every, validation_batches, eval_batches, files
    (pretrain, heldout_validation, heldout_test, vocabulary), downstream
    (`{name: {train, validation, test, text_pair_column}}`, empty: none),
    finetune_steps, finetune_learning_rate, run_dir.
    """
    run_dir = cfg["run_dir"]
    path = os.path.join(run_dir, RESULT_FILE)
    if os.path.exists(path):
        with open(path) as f:
            stored = json.load(f)
        if stored["config"] == cfg:
            return stored
    result = {"config": cfg, "pretrain": pretrain(cfg, run_dir), "downstream": {}}
    if cfg["family"] not in REFERENCE_INPUTS:
        for name, task_cfg in cfg["downstream"].items():
            result["downstream"][name] = finetune(cfg, run_dir, name, task_cfg)
    from keras_fnet import fileio

    fileio.write_file(path, json.dumps(result))
    return result


def main(argv):
    with open(argv[0]) as f:
        cfg = json.load(f)
    run(cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
