"""Training as a library: `train(spec) -> results`.

A run reads top to bottom:

1. `resolve`: devices and strategy, the task (registry), the model name, the
   sequence length, learning rate and warm-up; every check that can fail
   runs here, before any data is generated;
2. `RunDir`: lock the run directory and claim it for this run (or resume
   the same run; another run stops with the settings that differ);
3. `build`: data, then the model in the strategy's scope, compiled with
   AdamW + warm-up/linear decay;
4. `resume`: weights, optimizer state and history from the checkpoint;
5. `fit` up to `spec.steps` optimizer steps, checkpointing every
   `spec.checkpoint_every` steps;
6. `export` `model.keras` (no optimizer) and `evaluate` every evaluation
   split, then write `metrics.json`.

Example:

>>> from training.spec import RunSpec
>>> results = train(RunSpec(task="listops", mock_data=True, steps=2,  # doctest: +SKIP
...                         output_dir="runs/demo"))
>>> results["metrics"]["accuracy"]  # doctest: +SKIP
"""

import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any

from training import devices
from training.spec import RunSpec, SpecError

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"


class UserError(Exception):
    """A problem with the run's settings, data or directory, shown as one line."""


@dataclasses.dataclass
class Plan:
    """What `resolve` decided: everything `train` needs before touching data."""

    spec: RunSpec
    strategy: Any
    task: Any
    prepared: Any
    max_length: int
    learning_rate: float
    warmup_steps: int


# ---- 1. Resolve ------------------------------------------------------------------


def _setup_backend(spec):
    """Pick the backend and set up devices, before Keras starts."""
    if spec.backend:
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != spec.backend:
            raise UserError(f"--backend {spec.backend}: Keras is already running "
                            f"{sys.modules['keras'].backend.backend()} in this process.")
        os.environ["KERAS_BACKEND"] = spec.backend
    backend = devices.current_backend()
    try:
        devices.check_strategy_name(backend, spec.strategy)
        devices.configure_devices(backend, spec.num_cpu_devices)
    except devices.StrategyError as e:
        raise UserError(e) from None


def resolve(spec):
    """Check everything about `spec` that needs Keras or the task; returns a `Plan`."""
    _setup_backend(spec)
    import keras

    import keras_fnet
    from keras_fnet.data import tasks
    from training import strategies

    try:
        task = tasks.get_task(spec.task)
    except ValueError as e:
        raise UserError(f"--task {spec.task}: {e}") from None
    if spec.model_name is not None and spec.model_name not in keras_fnet.PRESETS:
        raise UserError(
            f"Unknown --model {spec.model_name!r}. Valid models: {', '.join(keras_fnet.PRESETS)} "
            f"(<family>_<size>, families {', '.join(keras_fnet.FAMILIES)}; sizes "
            f"{', '.join(keras_fnet.SIZES)}).")
    if spec.steps_per_execution > 1 and keras.backend.backend() == "torch":
        raise UserError(f"--steps-per-execution {spec.steps_per_execution}: must be 1 with "
                        "the torch backend.")
    if spec.num_train_examples is not None and task.train_examples is None:
        raise UserError(f"--num-train-examples {spec.num_train_examples}: task {task.name} "
                        "has a fixed training set (only generated tasks take it).")
    try:
        strategy = strategies.get_strategy(spec.strategy, tpu=spec.tpu,
                                           multi_host=spec.multi_host)
    except strategies.StrategyError as e:
        raise UserError(e) from None
    if spec.batch_size % strategy.num_replicas:
        raise UserError(f"--batch-size {spec.batch_size}: must be divisible by the "
                        f"{strategy.num_replicas} replicas of {strategy.description}.")
    learning_rate = spec.learning_rate if spec.learning_rate is not None else task.learning_rate
    warmup = spec.warmup_steps if spec.warmup_steps is not None else spec.steps // 10
    return Plan(spec, strategy, task, None, None, learning_rate, warmup)


def prepare(plan):
    """The task's data source and the checks that need it, before any data is generated.

    Runs with the run directory locked: a task may write there (a trained vocabulary).
    """
    import keras

    spec, task = plan.spec, plan.task
    # Seed first: `tf.random.set_seed` after a SentencePiece tokenizer exists
    # invalidates the tokenizer's TF resource (GLUE/C4 pipelines then fail).
    keras.utils.set_random_seed(spec.seed)
    try:
        plan.prepared = task.prepare(_task_options(spec, task))
    except (ValueError, OSError, RuntimeError) as e:
        raise UserError(f"--task {spec.task}: {e}") from None
    plan.max_length = spec.max_length or task.default_max_length(plan.prepared.info)
    fixed = (plan.prepared.model_overrides or {}).get("max_sequence_length")
    if fixed and plan.max_length != fixed:
        raise UserError(f"--max-length {plan.max_length}: task {task.name} has sequences of "
                        f"exactly {fixed}.")
    if plan.max_length < task.min_length:
        raise UserError(f"--max-length {plan.max_length}: task {task.name} needs at least "
                        f"{task.min_length}.")
    if spec.init_from:
        config = _load_encoder(spec.init_from, plan.prepared.info, plan.max_length).config
    else:
        from keras_fnet.config import get_config

        try:
            config = get_config(spec.model_name, **spec.overrides)
        except ValueError:
            return  # `build` names the bad setting.
    _check_batch_memory(spec.batch_size, plan.strategy.num_replicas, plan.max_length,
                        config.hidden_dim)


def _memory_bytes():
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _check_batch_memory(batch_size, num_replicas, max_length, hidden_dim):
    """Refuse a batch whose embedding output alone (one float32 [batch, length, hidden]
    tensor per replica, a lower bound of what a step holds) exceeds this machine's memory."""
    need = 4 * (batch_size // num_replicas) * max_length * hidden_dim
    have = _memory_bytes()
    if have and need > have:
        raise UserError(
            f"--batch-size {batch_size}: one layer's activations at --max-length "
            f"{max_length} and width {hidden_dim} alone take {need / 2**30:,.0f} GiB, more "
            f"than this machine's {have / 2**30:,.0f} GiB; lower --batch-size (or "
            "--max-length).")


# RunSpec fields that are TaskOptions fields of the same name.
_TASK_FIELDS = ("train_file", "validation_file", "test_file", "text_column", "text_pair_column",
             "label_column", "corpus", "corpus_validation", "vocab_size", "seed")


def _task_options(spec, task):
    """The `TaskOptions` of a run."""
    from keras_fnet.data.tasks import TaskOptions

    vocabulary = spec.vocabulary
    if vocabulary is None and spec.init_from and not spec.mock_data:
        vocabulary = _init_vocabulary(spec.init_from, spec.run_dir)
        if vocabulary is None and (task.name == "text_classification" or spec.corpus):
            # A vocabulary trained afresh would give the pretrained embeddings other ids.
            raise UserError(f"--init-from {spec.init_from}: no vocabulary comes with it (no "
                            "preset asset, OUT.spm.model, preprocessor or run directory "
                            "vocabulary); pass the --vocabulary it was trained with.")
    examples = spec.num_train_examples or task.train_examples
    return TaskOptions(data_dir=spec.data_dir, mock=spec.mock_data, vocabulary=vocabulary,
                       work_dir=spec.run_dir,
                       num_examples={"train": examples} if examples else None,
                       **{k: getattr(spec, k) for k in _TASK_FIELDS})


def _init_path(path):
    """The local file or directory of `--init-from`: a name or a hub handle is resolved
    (downloaded into the client's cache when needed) by `keras_fnet.hub`."""
    from keras_fnet import hub

    if os.path.exists(path):
        return path
    if not hub.is_remote(path):
        raise UserError(f"--init-from {path}: no such file or directory (nor a pretrained "
                        "name: python -m keras_fnet.hub list; nor an hf:// or kaggle:// handle).")
    try:
        return hub.resolve(path)
    except hub.HubError as e:
        raise UserError(f"--init-from {e}") from None


def _load_init(path):
    """The model of `--init-from`: a `.keras` file, a preset directory (ours, keras-hub's
    or a Hugging Face FNet or BERT directory), a pretrained name or a hub handle (see
    `keras_fnet.from_preset`)."""
    import keras

    import keras_fnet

    path = _init_path(path)
    try:
        if os.path.isdir(path):
            return keras_fnet.from_preset(path)
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for a file it cannot read.
        raise UserError(f"--init-from {path}: cannot load it ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:200]}).") from None


INIT_VOCABULARY = "init_vocabulary.spm"


def _init_vocabulary(path, run_dir):
    """The SentencePiece model that came with `--init-from`, so that the task tokenizes as
    the pretrained encoder was trained: a preset's `assets/tokenizer/vocabulary.spm` (or a
    Hugging Face directory's `spiece.model`), the `OUT.spm.model` the converters write
    beside `OUT.keras`, the tokenizer of a saved model's preprocessor (copied whole into
    the run directory), or, for a model without one, the vocabulary of the training run
    whose `model.keras` it is. None when it has none."""
    from keras_fnet import fileio, presets
    from keras_fnet.convert.common import spm_path_for

    path = _init_path(path)
    candidates = ([os.path.join(path, presets.VOCABULARY_FILE),
                   os.path.join(path, "spiece.model")] if os.path.isdir(path)
                  else [spm_path_for(path)])
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    tokenizer = getattr(getattr(_load_init(path), "preprocessor", None), "tokenizer", None)
    proto = getattr(tokenizer, "proto", None)
    if not proto:
        # A model.keras without preprocessor (a Pretrainer): its run directory's vocabulary.
        found = [] if os.path.isdir(path) else [
            p for p in _run_vocabularies(os.path.dirname(path)) if os.path.isfile(p)]
        return found[0] if found else None
    target = os.path.join(run_dir, INIT_VOCABULARY)
    if isinstance(proto, str):
        with open(proto, "rb") as f:
            proto = f.read()
    fileio.write_file(target, proto)
    return target


def _run_vocabularies(folder):
    """The vocabulary of the training run whose directory is `folder`: the one it trained
    (`vocabulary.spm`) or the `--vocabulary` its stored results name."""
    found = [os.path.join(folder, name) for name in ("vocabulary.spm", INIT_VOCABULARY)]
    try:
        with open(os.path.join(folder, METRICS_FILE)) as f:
            given = json.load(f).get("spec", {}).get("vocabulary")
    except (OSError, ValueError, AttributeError):
        given = None
    return found + ([given] if given else [])


def _load_encoder(path, info, max_length):
    """The encoder of a saved Encoder, Classifier or Pretrainer, checked against the task."""
    import keras_fnet

    loaded = _load_init(path)
    encoder = loaded if isinstance(loaded, keras_fnet.Encoder) else getattr(loaded, "encoder", None)
    if not isinstance(encoder, keras_fnet.Encoder):
        raise UserError(f"--init-from {path} holds a {type(loaded).__name__}; expected a "
                        "keras_fnet Encoder, Classifier or Pretrainer.")
    config = encoder.config
    if config.vocabulary_size != info.vocabulary_size:
        raise UserError(f"--init-from {path} has a vocabulary of {config.vocabulary_size} but "
                        f"task {info.name} has {info.vocabulary_size}: use the same --vocabulary "
                        "(or --mock-data for both runs).")
    if max_length > config.max_sequence_length:
        raise UserError(f"--max-length {max_length} exceeds the {config.max_sequence_length} "
                        f"positions of --init-from {path}.")
    return encoder


# ---- 3. Build ----------------------------------------------------------------------


def load_data(plan, split, training):
    """A split as the run feeds it to `fit` (train: shuffled, repeated, full batches)."""
    spec, task = plan.spec, plan.task
    # Distributed validation batches must be full; on one device keep every example.
    drop = training or plan.strategy.num_replicas > 1
    try:
        ds = plan.prepared.load(split, spec.batch_size, plan.max_length, shuffle=training,
                                seed=spec.seed, repeat=training, drop_remainder=drop)
    except (FileNotFoundError, ValueError) as e:
        hint = f" {task.data_help}" if task.data_help else ""
        raise UserError(f"cannot load {task.name} ({split}): "
                        f"{' '.join(str(e).split())}{hint}") from None
    return ds


def build(plan, train_ds):
    """The compiled model (in the strategy's scope) and its encoder."""
    import keras

    import keras_fnet
    from keras_fnet import compile_defaults, keras_compat
    from training import optim

    spec, info = plan.spec, plan.prepared.info
    schedule = optim.WarmupLinearDecay(plan.learning_rate, plan.warmup_steps, spec.steps)
    loss_scaling = optim.set_precision(spec.mixed_precision)
    with plan.strategy.scope():
        if spec.init_from:
            encoder = _load_encoder(spec.init_from, info, plan.max_length)
        else:
            overrides = dict(spec.overrides, vocabulary_size=info.vocabulary_size,
                             max_sequence_length=plan.max_length)
            overrides.update(plan.prepared.model_overrides or {})
            try:
                encoder = keras_fnet.build_encoder(spec.model_name, **overrides)
            except ValueError as e:
                raise UserError(f"--model {spec.model_name}: {e}") from None
        if plan.task.kind == "pretraining":
            model = keras_fnet.Pretrainer(encoder)
        else:
            model = keras_fnet.Classifier(encoder, num_classes=info.num_classes,
                                          dropout=encoder.config.dropout)
        loss, metrics, weighted = compile_defaults.make_loss(plan.task.kind)
        model.compile(
            optimizer=compile_defaults.make_optimizer(
                schedule, weight_decay=spec.weight_decay, clipnorm=spec.clipnorm,
                loss_scaling=loss_scaling),
            loss=loss, metrics=metrics, weighted_metrics=weighted,
            steps_per_execution=spec.steps_per_execution,
        )
        # Optimizer slots made now, not inside the first traced train step
        # (TF would trace that step twice).
        model.optimizer.build(model.trainable_variables)
        if plan.strategy.tf_strategy is not None:
            import tensorflow as tf

            keras_compat.build_for_tf_distribute(model, tf.nest.map_structure(
                lambda s: tf.zeros([d or 1 for d in s.shape], s.dtype), train_ds.element_spec))
    del keras
    return model, encoder, schedule


def model_fingerprint(model, encoder):
    """A hash of the model's architecture: its class, encoder config and outputs.

    (Not the serialized config: that holds layer names that Keras numbers per process.)
    """
    from training.run_dir import fingerprint

    return fingerprint({"class": type(model).__name__, "encoder": encoder.config.to_dict(),
                        "num_classes": getattr(model, "num_classes", None)})


# ---- 6. Export ---------------------------------------------------------------------


def export(model, run, preprocessor=None):
    """Write `model.keras` whole: a single-device, uncompiled copy (no optimizer), carrying
    `preprocessor` if given (then it predicts on strings)."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # No optimizer, no custom schedule in the file.
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    if preprocessor is not None:
        copy.set_preprocessor(preprocessor)
    run.write_whole(MODEL_FILE, copy.save)
    return copy


# ---- The run -------------------------------------------------------------------------


def train(spec, callbacks=()):
    """Train (or resume, or report) the run described by `spec`.

    Args:
        spec: a `RunSpec` (validated here).
        callbacks: extra Keras callbacks for `fit` (e.g. test fault hooks).

    Returns:
        The results written to `metrics.json` (see the README's "Output
        directory"); a finished run returns its stored results unchanged.

    Raises:
        UserError: bad settings, data or directory (one line).
    """
    try:
        spec = spec.validated()
    except SpecError as e:
        raise UserError(e) from None
    start_time = time.time()
    plan = resolve(spec)
    import keras

    from training import checkpoints
    from training.run_dir import RunDir, RunDirError

    # Validation sets end; Keras warns about that as if training data ran out.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    strategy = plan.strategy
    try:
        with RunDir(spec.run_dir, lock=strategy.is_chief) as run:
            if strategy.is_chief:
                resumed = run.claim(spec.identity(), overwrite=spec.overwrite)
                finished = run.read_json(METRICS_FILE) if resumed else None
                if finished is not None and finished.get("steps") == spec.steps:
                    print(f"{spec.run_dir}: this run already finished ({spec.steps} steps); "
                          "nothing to do.")
                    return finished
            prepare(plan)
            return _train(plan, run, start_time, callbacks)
    except (RunDirError, checkpoints.CheckpointError) as e:
        raise UserError(e) from None
    finally:
        strategy.deactivate()
        keras.config.set_dtype_policy("float32")


def _train(plan, run, start_time, extra_callbacks):
    from training import callbacks as cb
    from training import checkpoints
    from training.evaluate import evaluate

    spec, strategy, task = plan.spec, plan.strategy, plan.task
    print(f"backend {_backend()}, strategy {strategy.description}, output {spec.run_dir}",
          flush=True)

    train_ds = load_data(plan, "train", training=True)
    valid_ds = None
    if spec.eval_every:
        split = plan.prepared.validation_split
        valid_ds = load_data(plan, split, training=False)
        if next(iter(valid_ds.take(1)), None) is None:
            raise UserError(f"--batch-size {spec.batch_size}: larger than the "
                            f"{split} split of {task.name}, so validation "
                            "would be skipped; lower --batch-size or pass --eval-every 0.")

    strategy.activate()
    model, encoder, schedule = build(plan, train_ds)
    fingerprint = model_fingerprint(model, encoder)
    if strategy.is_chief:
        stored = run.read_json("run.json") or {}
        if stored.get("model_fingerprint", fingerprint) != fingerprint:
            raise UserError(f"--output-dir {spec.run_dir}: its run was made with another "
                            "model config (the library's presets changed?); pass --overwrite.")
        run.record(spec=spec.identity(), model_fingerprint=fingerprint,
                   model_config=encoder.config.to_dict())

    # ---- 4. Resume
    with strategy.scope():
        start_step, state = checkpoints.restore(model, run, fingerprint)
    if start_step:
        print(f"resuming from step {start_step} ({run.file(checkpoints.CHECKPOINT_NAME)})")
        train_ds = train_ds.skip(start_step)  # The same batches as an uninterrupted run.
    train_ds = strategy.shard_dataset(train_ds)
    history = cb.History(state.get("history"), start_step)
    info = plan.prepared.info
    print(f"model: {spec.model_name or spec.init_from} {encoder.config.to_dict()}")
    print(f"parameters: {model.count_params():,}; task {task.name}: {info.num_classes} classes, "
          f"vocabulary {info.vocabulary_size}, length {plan.max_length}; steps {spec.steps}, "
          f"global batch {spec.batch_size}, peak learning rate {plan.learning_rate}", flush=True)

    # ---- 5. Fit
    steps_per_epoch = min(spec.eval_every or spec.steps, spec.steps)
    train_start, earlier_time = time.time(), state.get("train_time_s", 0.0)

    def checkpoint_state():
        return {"fingerprint": fingerprint, "history": history.values,
                "train_time_s": round(earlier_time + time.time() - train_start, 2)}

    callbacks = [
        history,
        cb.Checkpointer(run, spec.checkpoint_every, checkpoint_state, start_step,
                        strategy.is_chief),
        cb.StopAtStep(spec.steps, start_step),
    ]
    if strategy.is_chief:
        callbacks.append(cb.ScalarLogger(run.file("logs"), spec.log_every, start_step,
                                         learning_rate=schedule))
    callbacks += list(extra_callbacks)
    if start_step < spec.steps:
        model.fit(train_ds, validation_data=valid_ds,
                  initial_epoch=start_step // steps_per_epoch,
                  epochs=math.ceil(spec.steps / steps_per_epoch),
                  steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                  shuffle=False,  # The tf.data pipeline shuffles.
                  verbose=cb.fit_verbosity(spec.verbose))
    train_time = earlier_time + time.time() - train_start
    final_step = checkpoints.optimizer_step(model)

    # ---- 6. Export, evaluate, report
    strategy.deactivate()
    results = {
        "task": task.name, "model": spec.model_name, "init_from": spec.init_from,
        "backend": _backend(), "strategy": strategy.name,
        "strategy_description": strategy.description, "num_replicas": strategy.num_replicas,
        "steps": final_step, "resumed_from_step": start_step,
        "train_time_s": round(train_time, 2), "eval_splits": list(plan.prepared.eval_splits),
        "eval_split": plan.prepared.eval_splits[0], "max_length": plan.max_length,
        "batch_size": spec.batch_size, "learning_rate": plan.learning_rate,
        "precision": spec.mixed_precision, "config": encoder.config.to_dict(),
        "model_fingerprint": fingerprint, "spec": spec.to_dict(), "history": history.values,
        "parameters": int(model.count_params()),
    }
    if not strategy.is_chief:
        print(f"worker done: {final_step} steps (the chief saves and evaluates)")
        return results
    preprocessor = plan.prepared.preprocessor
    exported = export(model, run, preprocessor(plan.max_length) if preprocessor else None)
    evaluation = evaluate(exported, task, plan.prepared, spec.batch_size, plan.max_length,
                          spec.seed, spec.eval_steps)
    first = evaluation[plan.prepared.eval_splits[0]]
    results["evaluation"] = evaluation
    results["metrics"] = {k: v for k, v in first.items()
                          if k not in ("num_examples", "majority_baseline")}
    for key in ("num_examples", "majority_baseline"):
        if key in first:
            results["num_eval_examples" if key == "num_examples" else key] = first[key]
    results["wall_time_s"] = round(time.time() - start_time, 2)
    run.write_json(METRICS_FILE, results)
    print(report(results))
    return results


def _backend():
    import keras

    return keras.backend.backend()


def report(results):
    """The final lines printed by a run."""
    lines = [f"done: {results['steps']} steps (resumed from {results['resumed_from_step']}) in "
             f"{results['wall_time_s']:.0f}s on {results['backend']} / "
             f"{results['strategy_description']}"]
    for split, metrics in results["evaluation"].items():
        values = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                           if k not in ("num_examples", "majority_baseline"))
        line = f"{results['task']} {split}: {values}"
        if "majority_baseline" in metrics:
            line += f" (majority-class baseline {metrics['majority_baseline']:.4f})"
        lines.append(line)
    return "\n".join(lines)


def finished_results(spec):
    """The stored results of `spec`'s run if its directory holds it finished, else None.

    Reads `metrics.json` without importing a backend (a study reports its
    finished runs this way); a directory holding another run, or this run
    unfinished, gives None (`train(spec)` then says why, or resumes).
    """
    from training.run_dir import RUN_FILE
    from training.spec import differences

    spec = spec.validated()

    def read(name):
        try:
            with open(os.path.join(spec.run_dir, name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    stored, results = read(RUN_FILE), read(METRICS_FILE)
    if not stored or not results or differences(stored.get("spec", {}), spec.identity()):
        return None
    return results if results.get("steps") == spec.steps else None


# ---- Isolation: the same API in a fresh process ---------------------------------------


def train_in_subprocess(spec, backend=None, env=None, timeout=None):
    """`train(spec)` in a fresh Python process (own backend, devices); returns its results.

    Raises:
        UserError: the run's own one-line error.
        RuntimeError: the process failed otherwise (with the end of its stderr).
    """
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, out_file = os.path.join(tmp, "spec.json"), os.path.join(tmp, "results.json")
        with open(spec_file, "w") as f:
            f.write(spec.to_json())
        child_env = dict(os.environ, **(env or {}))
        if backend:
            child_env["KERAS_BACKEND"] = backend
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        child_env["PYTHONPATH"] = repo + os.pathsep + child_env.get("PYTHONPATH", "")
        result = subprocess.run([sys.executable, "-m", "training.run", spec_file, out_file],
                                env=child_env, capture_output=True, text=True, timeout=timeout)
        if result.returncode == 2:
            raise UserError(result.stderr.strip().splitlines()[-1].removeprefix("error: "))
        if result.returncode or not os.path.exists(out_file):
            raise RuntimeError(f"training subprocess failed (exit {result.returncode}):\n"
                               f"{result.stderr[-3000:]}")
        with open(out_file) as f:
            return json.load(f)


def _main(argv):
    """`python -m training.run SPEC.json RESULTS.json` (used by `train_in_subprocess`)."""
    with open(argv[0]) as f:
        spec = RunSpec.from_json(f.read())
    try:
        results = train(spec)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    with open(argv[1], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    _main(sys.argv[1:])
