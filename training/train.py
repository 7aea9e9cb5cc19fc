"""Train a keras-fnet model: pretraining, GLUE fine-tuning, Long Range Arena.

    python -m training.train                              # FNet on generated ListOps
    python -m training.train --task glue/sst2 --mock-data # dry run on mock GLUE
    python -m training.train --help

The script reads top to bottom:

 1. parse flags;
 2. set up devices (before the frameworks start) and the distribution strategy;
 3. load the task's data (`keras_fnet.data.load_task`);
 4. build the model in the strategy's scope (or take the encoder of
    `--init-from`), compile it with AdamW + warm-up/linear decay;
 5. resume from `<output-dir>/checkpoint.weights.h5` if a previous run of the
    same command left one;
 6. `model.fit` up to `--steps` optimizer steps, with checkpoints every
    `--checkpoint-every` steps and TensorBoard scalars;
 7. save `model.keras`, evaluate the task's metrics and write `metrics.json`.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

TASKS = ("pretrain", "glue/<name>", "listops", "lra_text", "lra_image", "pathfinder", "retrieval")
# Split evaluated at the end (GLUE test labels are hidden, so: validation).
EVAL_SPLIT = {"pretrain": "validation", "glue/mnli": "validation_matched"}
# Short sequences by default, so that a CPU run takes minutes. The Long Range
# Arena lengths are ListOps 2048 (2000 in the paper), Text 4096, Image 1025,
# Pathfinder 1025, Retrieval 8192 (4000 per document): pass --max-length.
DEFAULT_MAX_LENGTH = {"pretrain": 128, "glue": 128, "listops": 256, "lra_text": 1024,
                      "retrieval": 1024}
DEFAULT_TRAIN_EXAMPLES = {"listops": 20000}  # Generated in ~1 minute (LRA: 96000).
DEFAULT_LEARNING_RATE = {"pretrain": 1e-4, "glue": 5e-5}
# Where to get the data of each task when it is missing.
DATA_HELP = {
    "pretrain": "C4 comes from TFDS: `tfds build c4/en --data_dir DIR` (see the TFDS "
    "c4 page for the manual Common Crawl steps); pass --data-dir DIR and "
    "--vocabulary (a SentencePiece model, e.g. f_net_base_en's vocabulary.spm).",
    "glue": "Prepare it on a machine with internet: `tfds build glue/<name> --data_dir "
    "DIR`, copy DIR here and pass --data-dir DIR and --vocabulary.",
    "lra_text": "IMDB comes from TFDS: `tfds build imdb_reviews --data_dir DIR`, then "
    "--data-dir DIR.",
    "lra_image": "CIFAR-10 comes from TFDS: `tfds build cifar10 --data_dir DIR`, then "
    "--data-dir DIR.",
    "retrieval": "Download the LRA release (lra_release.gz from "
    "github.com/google-research/long-range-arena), and put "
    "lra_release/tsv_data/new_aan_pairs.{train,eval,test}.tsv in "
    "DIR/lra_retrieval; pass --data-dir DIR.",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__.split("\n\n")[0]
        + " Defaults: FNet (tiny) on locally generated ListOps, ~10 minutes on a 2-core CPU.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("task and model")
    g.add_argument("--task", default="listops",
                   help=f"task: {', '.join(TASKS)} (GLUE: cola sst2 mrpc qqp stsb mnli qnli rte)")
    g.add_argument("--model", default=None,
                   help="preset <family>_<size> from keras_fnet.PRESETS, e.g. fnet_base, "
                   "bert_tiny, fnet_hybrid_small (default fnet_tiny; ignored with --init-from)")
    g.add_argument("--num-layers", type=int, help="override the preset's number of blocks")
    g.add_argument("--hidden-dim", type=int, help="override the preset's hidden width")
    g.add_argument("--intermediate-dim", type=int, help="override the feed-forward width")
    g.add_argument("--num-heads", type=int, help="override the attention heads (bert, performer, hybrid)")
    g.add_argument("--embedding-dim", type=int, help="override the embedding width (projected to hidden)")
    g.add_argument("--dropout", type=float, help="override the dropout rate (also of the classifier head)")
    g.add_argument("--init-from", help="a .keras file (Encoder, Classifier or Pretrainer, e.g. the "
                   "model.keras of a pretraining run or a converted checkpoint) whose encoder is "
                   "fine-tuned")
    g = p.add_argument_group("data")
    g.add_argument("--max-length", type=int,
                   help="sequence length (default: pretrain/glue 128, listops 256, lra_text 1024, "
                   "lra_image/pathfinder 1025, retrieval 1024)")
    g.add_argument("--batch-size", type=int, default=32, help="global batch size (all replicas)")
    g.add_argument("--data-dir", help="TFDS data dir; also the cache of generated ListOps/"
                   "Pathfinder data (default ~/.cache/keras_fnet)")
    g.add_argument("--vocabulary", help="SentencePiece model for pretrain and glue/* (not needed "
                   "with --mock-data)")
    g.add_argument("--mock-data", action="store_true",
                   help="dry run: TFDS tasks read tfds.testing.mock_data, generated tasks make a "
                   "few examples in memory")
    g.add_argument("--num-train-examples", type=int,
                   help="listops/pathfinder: examples to generate for the train split "
                   "(default: listops 20000, pathfinder 160000; LRA: 96000 / 160000)")
    g = p.add_argument_group("optimization")
    g.add_argument("--steps", type=int, default=1000, help="total optimizer steps of the run")
    g.add_argument("--learning-rate", type=float,
                   help="peak learning rate (default: pretrain 1e-4, glue 5e-5, LRA tasks 1e-3)")
    g.add_argument("--warmup-steps", type=int, help="linear warm-up steps (default 10%% of --steps)")
    g.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    g.add_argument("--clipnorm", type=float, help="clip each gradient to this norm")
    g.add_argument("--mixed-precision", default="float32",
                   choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   help="dtype policy; mixed_float16 adds dynamic loss scaling")
    g.add_argument("--steps-per-execution", type=int, default=1,
                   help="steps per compiled call (TF, JAX; torch needs 1)")
    g.add_argument("--seed", type=int, default=0, help="seed of weights, data order and generated data")
    g = p.add_argument_group("distribution")
    g.add_argument("--strategy", default="auto",
                   choices=("auto", "tpu", "mirrored", "multi_worker", "data_parallel", "default"),
                   help="tensorflow: tpu, mirrored, multi_worker (TF_CONFIG), default; jax: "
                   "data_parallel, default; torch: default (one device)")
    g.add_argument("--tpu", help="TPU name or grpc:// address (default $TPU_NAME, else local)")
    g.add_argument("--multi-host", action="store_true",
                   help="jax: call jax.distributed.initialize (automatic when "
                   "KERAS_DISTRIBUTION_JOB_ADDRESSES is set)")
    g.add_argument("--num-cpu-devices", type=int,
                   help="split the CPU into N devices (TF logical / JAX host devices) to try "
                   "the distributed paths on one machine")
    g.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                   help="Keras backend (default: $KERAS_BACKEND)")
    g = p.add_argument_group("output")
    g.add_argument("--output-dir", help="where metrics.json, model.keras, checkpoints and logs "
                   "go (default runs/<task>_<model>)")
    g.add_argument("--checkpoint-every", type=int, default=250,
                   help="steps between checkpoints (0: only at the end); rerunning the same "
                   "command resumes from the last one")
    g.add_argument("--eval-every", type=int, default=250,
                   help="steps between validation passes during training (0: only the final "
                   "evaluation); also the length of one progress bar")
    g.add_argument("--eval-steps", type=int,
                   help="batches of the final evaluation (default: the whole split)")
    g.add_argument("--log-every", type=int, default=50, help="steps between TensorBoard scalars")
    g.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                   help="fit verbosity: 1 progress bar, 2 one line per epoch, 0 silent")
    g.add_argument("--crash-at-step", type=int, help=argparse.SUPPRESS)  # tests: kill -9 here
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    for flag in ("checkpoint_every", "eval_every"):
        value = getattr(args, flag)
        if value < 0 or (value and value % args.steps_per_execution):
            p.error(f"--{flag.replace('_', '-')} must be >= 0 and a multiple of "
                    "--steps-per-execution")
    if args.steps % args.steps_per_execution:
        p.error("--steps must be a multiple of --steps-per-execution")
    return args


class UserError(Exception):
    """An error in the command line or the environment, shown without a traceback."""


def main(argv=None):
    args = parse_args(argv)
    try:
        return train(args)
    except UserError as e:
        sys.exit(f"error: {e}")


def train(args):
    start_time = time.time()
    family = "glue" if args.task.startswith("glue/") else args.task

    # ---- 2. Devices, then the frameworks, then the strategy ------------------
    from training import strategies

    if args.backend:
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != args.backend:
            raise UserError(f"--backend {args.backend}: Keras is already running "
                            f"{sys.modules['keras'].backend.backend()} in this process.")
        os.environ["KERAS_BACKEND"] = args.backend
    backend = strategies.current_backend()
    try:
        strategies.check_strategy_name(backend, args.strategy)
        strategies.configure_devices(backend, args.num_cpu_devices)
    except strategies.StrategyError as e:
        raise UserError(e) from None

    import keras
    import numpy as np
    import tensorflow as tf

    # Validation sets end; Keras warns about that as if training data ran out.
    warnings.filterwarnings("ignore", message="Your input ran out of data")

    import keras_fnet
    from keras_fnet.data import compute_metrics, load_task, task_info
    from training import checkpoints, optim

    try:
        strategy = strategies.get_strategy(args.strategy, tpu=args.tpu, multi_host=args.multi_host)
    except strategies.StrategyError as e:
        raise UserError(e) from None
    if args.batch_size % strategy.num_replicas:
        raise UserError(f"--batch-size {args.batch_size} must be divisible by the "
                        f"{strategy.num_replicas} replicas of {strategy.description}.")
    if args.steps_per_execution > 1 and keras.backend.backend() == "torch":
        raise UserError("--steps-per-execution must be 1 with the torch backend.")

    model_name = args.model or ("fnet_tiny" if not args.init_from else None)
    if model_name is not None and model_name not in keras_fnet.PRESETS:
        raise UserError(
            f"Unknown --model {model_name!r}. Valid models: {', '.join(keras_fnet.PRESETS)} "
            f"(<family>_<size>, families {', '.join(keras_fnet.FAMILIES)}; sizes "
            f"{', '.join(keras_fnet.SIZES)})."
        )
    run_name = model_name or os.path.splitext(os.path.basename(args.init_from))[0]
    output_dir = args.output_dir or os.path.join("runs", f"{args.task.replace('/', '_')}_{run_name}")
    os.makedirs(output_dir, exist_ok=True)
    print(f"backend {keras.backend.backend()}, strategy {strategy.description}, "
          f"output {output_dir}", flush=True)

    # ---- 3. Data ------------------------------------------------------------
    # Seed first: `tf.random.set_seed` after a SentencePiece tokenizer exists
    # invalidates the tokenizer's TF resource (GLUE/C4 pipelines then fail).
    keras.utils.set_random_seed(args.seed)
    try:
        info = task_info(args.task, vocabulary=args.vocabulary, mock=args.mock_data)
    except ValueError as e:
        raise UserError(e) from None
    max_length = args.max_length or DEFAULT_MAX_LENGTH.get(family, info.default_max_length)
    eval_split = EVAL_SPLIT.get(args.task, "validation" if family == "glue" else "test")
    valid_split = "validation" if "validation" in info.splits else eval_split
    task_kwargs = {}
    if family in ("pretrain", "glue") and args.vocabulary:
        task_kwargs["vocabulary"] = args.vocabulary
    num_train = args.num_train_examples or DEFAULT_TRAIN_EXAMPLES.get(family)
    if num_train and family in ("listops", "pathfinder"):
        task_kwargs["num_examples"] = {"train": num_train}

    def load(split, training, take=None, drop_remainder=None):
        try:
            ds = load_task(args.task, split, batch_size=args.batch_size, max_length=max_length,
                           data_dir=args.data_dir, mock=args.mock_data, seed=args.seed,
                           shuffle=training, repeat=training,
                           drop_remainder=training if drop_remainder is None else drop_remainder,
                           **task_kwargs)
        except (FileNotFoundError, ValueError) as e:
            hint = DATA_HELP.get(family, "")
            raise UserError(f"cannot load {args.task} ({split}): {e}\n{hint}".rstrip()) from None
        if family == "pretrain":  # Keras wants one sample weight per output.
            ds = ds.map(lambda x, y, w: (x, y, {"mlm": w["mlm"],
                                                "nsp": tf.ones_like(y["nsp"], tf.float32)}))
        if take:
            ds = ds.take(take)
        return ds

    train_ds = load("train", training=True)
    # During training, validation batches must be full for the distributed paths.
    valid_ds = load(valid_split, training=False, drop_remainder=True) if args.eval_every else None

    # ---- 4. Model, optimizer ------------------------------------------------
    overrides = {k: getattr(args, k) for k in ("num_layers", "hidden_dim", "intermediate_dim",
                                                "num_heads", "embedding_dim", "dropout")
                 if getattr(args, k) is not None}
    learning_rate = (args.learning_rate if args.learning_rate is not None
                     else DEFAULT_LEARNING_RATE.get(family, 1e-3))
    warmup = args.warmup_steps if args.warmup_steps is not None else args.steps // 10
    schedule = optim.WarmupLinearDecay(learning_rate, min(warmup, args.steps), args.steps)
    loss_scaling = optim.set_precision(args.mixed_precision)
    strategy.activate()
    with strategy.scope():
        if args.init_from:
            if overrides:
                raise UserError(f"--init-from takes the architecture from {args.init_from}; "
                                f"remove {', '.join('--' + k.replace('_', '-') for k in overrides)}.")
            encoder = load_encoder(args.init_from, info, max_length)
        else:
            overrides.update(vocabulary_size=info.vocabulary_size, max_sequence_length=max_length)
            encoder = keras_fnet.build_encoder(model_name, **overrides)
        head_dropout = encoder.config.dropout
        if family == "pretrain":
            model = keras_fnet.Pretrainer(encoder)
        else:
            model = keras_fnet.Classifier(encoder, num_classes=info.num_classes, dropout=head_dropout)
        loss, metrics, weighted = task_losses(family, info)
        model.compile(
            optimizer=optim.make_optimizer(schedule, weight_decay=args.weight_decay,
                                           clipnorm=args.clipnorm, loss_scaling=loss_scaling),
            loss=loss, metrics=metrics, weighted_metrics=weighted,
            steps_per_execution=args.steps_per_execution,
        )

        # Optimizer slots made now, not inside the first traced train step
        # (TF would trace that step twice).
        model.optimizer.build(model.trainable_variables)
        if strategy.tf_strategy is not None:
            # Under a tf.distribute strategy, `fit` builds the loss and metrics
            # on a replica-averaged (float) batch, which the models reject as
            # token ids; build them here on an int batch of the right shapes.
            # (Keras' own build step also fails on dict inputs under
            # MultiWorkerMirroredStrategy, so it is skipped once this is done.)
            model._symbolic_build(data_batch=tf.nest.map_structure(
                lambda spec: tf.zeros([d or 1 for d in spec.shape], spec.dtype),
                train_ds.element_spec))
            model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

        # ---- 5. Resume --------------------------------------------------------
        try:
            start_step = checkpoints.restore(model, output_dir)
        except ValueError as e:
            raise UserError(e) from None
    if start_step:
        print(f"resuming from step {start_step} ({output_dir}/{checkpoints.CHECKPOINT_NAME})")
        train_ds = train_ds.skip(start_step)  # The same batches as an uninterrupted run.
    train_ds = strategy.shard_dataset(train_ds)
    print(f"model: {model_name or args.init_from} {encoder.config.to_dict()}")
    print(f"parameters: {model.count_params():,}; task {args.task}: {info.num_classes} classes, "
          f"vocabulary {info.vocabulary_size}, length {max_length}; steps {args.steps}, "
          f"global batch {args.batch_size}, peak learning rate {learning_rate}", flush=True)

    # ---- 6. Train -----------------------------------------------------------
    steps_per_epoch = min(args.eval_every or args.steps, args.steps)
    callbacks = [
        checkpoints.Checkpointer(output_dir, args.checkpoint_every, start_step, strategy.is_chief),
        checkpoints.StopAtStep(args.steps, start_step),
    ]
    if strategy.is_chief:
        callbacks.append(checkpoints.ScalarLogger(os.path.join(output_dir, "logs"), args.log_every,
                                                  start_step, learning_rate=schedule))
    if args.crash_at_step:
        callbacks.append(checkpoints.CrashAtStep(args.crash_at_step, start_step))
    train_start = time.time()
    history = {}
    if start_step < args.steps:
        result = model.fit(
            train_ds,
            validation_data=valid_ds,
            initial_epoch=start_step // steps_per_epoch,
            epochs=math.ceil(args.steps / steps_per_epoch),
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # The tf.data pipeline shuffles.
            verbose=args.verbose,
        )
        history = {k: [float(v) for v in vs] for k, vs in result.history.items()}
    train_time = time.time() - train_start
    final_step = checkpoints.optimizer_step(model)

    # ---- 7. Save, evaluate, report -----------------------------------------
    # A plain single-device copy of the trained model: saved without the
    # optimizer (so it loads with just `import keras_fnet`) and evaluated on
    # every example, whatever the strategy did with the training batches.
    strategy.deactivate()
    export = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    export.set_weights(model.get_weights())
    results = {
        "task": args.task, "model": model_name, "init_from": args.init_from,
        "backend": keras.backend.backend(), "strategy": strategy.name,
        "strategy_description": strategy.description, "num_replicas": strategy.num_replicas,
        "steps": final_step, "resumed_from_step": start_step,
        "wall_time_s": round(time.time() - start_time, 2), "train_time_s": round(train_time, 2),
        "eval_split": eval_split, "max_length": max_length, "batch_size": args.batch_size,
        "precision": args.mixed_precision, "config": encoder.config.to_dict(),
        "history": history,
    }
    if not strategy.is_chief:
        print(f"worker done: {final_step} steps (the chief saves and evaluates)")
        return results
    export.save(os.path.join(output_dir, "model.keras"))
    eval_ds = load(eval_split, training=False, take=args.eval_steps)
    if family == "pretrain":
        export.compile(loss=loss, metrics=metrics, weighted_metrics=weighted)
        values = export.evaluate(eval_ds, return_dict=True, verbose=0)
        results["metrics"] = {"mlm_accuracy": float(values["mlm_accuracy"]),
                              "nsp_accuracy": float(values["nsp_accuracy"]),
                              "loss": float(values["loss"])}
    else:
        logits, labels = [], []
        for features, y in eval_ds.as_numpy_iterator():
            logits.append(np.asarray(export.predict_on_batch(features)))
            labels.append(y)
        logits, labels = np.concatenate(logits), np.concatenate(labels)
        results["metrics"] = compute_metrics(info.name, logits, labels)
        results["num_eval_examples"] = int(len(labels))
        if not info.is_regression:
            counts = np.bincount(labels[labels >= 0], minlength=info.num_classes)
            results["majority_baseline"] = float(counts.max() / max(counts.sum(), 1))
    results["wall_time_s"] = round(time.time() - start_time, 2)
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(report(results))
    keras.config.set_dtype_policy("float32")
    return results


def load_encoder(path, info, max_length):
    """The encoder of a saved Encoder, Classifier or Pretrainer, checked against the task."""
    import keras

    import keras_fnet

    if not os.path.exists(path):
        raise UserError(f"--init-from {path}: no such file.")
    try:
        loaded = keras.saving.load_model(path, compile=False)
    except Exception as e:
        raise UserError(f"--init-from {path}: cannot load it ({type(e).__name__}: {e}).") from None
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


def task_losses(family, info):
    """(loss, metrics, weighted_metrics) for `compile`."""
    import keras

    import keras_fnet

    if family == "pretrain":
        return keras_fnet.pretraining_losses()
    if info.is_regression:
        return keras.losses.MeanSquaredError(), [], None
    sce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return sce, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")], None


def report(results):
    """The final lines printed by the script."""
    lines = [f"done: {results['steps']} steps (resumed from {results['resumed_from_step']}) in "
             f"{results['wall_time_s']:.0f}s on {results['backend']} / "
             f"{results['strategy_description']}"]
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in results["metrics"].items())
    line = f"{results['task']} {results['eval_split']}: {metrics}"
    if "majority_baseline" in results:
        line += f" (majority-class baseline {results['majority_baseline']:.4f})"
    return "\n".join(lines + [line])


if __name__ == "__main__":
    main()
