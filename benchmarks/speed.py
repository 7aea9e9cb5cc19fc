"""Cross-backend speed and memory of the zoo, with keras-hub and transformers rows.

For each backend (its own process), model, sequence length and mode (a
training step, or inference), this measures the median step time after
warm-up, tokens per second, and memory: on CPU the growth of the process's
resident set (RSS) from just before the model is built to the high-water mark
of its compile and first steps (weights + optimizer state + activations); on a
GPU also the device's peak bytes in use.

    python -m benchmarks.speed                  # the committed run (about 25 minutes)
    python -m benchmarks.speed --quick          # seconds: toy sizes, smoke test
    python -m benchmarks.speed --suite main --backends jax --models fnet,ff_only
    python -m benchmarks.speed --report-only    # redraw speed.md and plots from speed.csv

Suites (any flag overrides them):

    main   length 512, 4 layers, hidden 256, feed-forward 1024, 4 heads, batch 8;
           training step of every zoo family plus keras-hub FNetBackbone and
           BertBackbone and transformers FNetModel and BertModel; inference of
           fnet, bert, ff_only and the references.
    long   lengths 128, 512, 2048, 4096, 8192, 2 layers, hidden 128, feed-forward
           512, 2 heads, 8192 tokens per batch (batch 64 at 128 .. batch 1 at
           8192); training step of fnet, ff_only, bert, performer and the
           references.
    full   main, then long.

How things are run (the same for every model of a backend):
  * a classifier on the pooled output (Dense to 2 classes), AdamW (lr 1e-4,
    weight decay 0.01, eps 1e-6), cross-entropy from logits, dropout 0.1 as in
    the configs, vocabulary 1000, random token ids, no padding;
  * training step = `model.train_on_batch(x, y)` on one fixed batch;
    inference = `model.predict_on_batch(x)`;
  * JAX: `jit_compile=True` (XLA); TensorFlow: `jit_compile=True` (XLA; Keras'
    "auto" also resolves to XLA here, except under a tf.distribute strategy);
    torch: eager (`jit_compile=False`); transformers rows: eager PyTorch with
    `torch.optim.AdamW`, the same loss and dropout.
  * models of one (backend, length) are timed in interleaved rounds (A B C A B
    C ...), medians kept: compare rows within a backend as ratios.
"""

import argparse
import gc
import json
import math
import os
import time

import numpy as np

from benchmarks import common

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
FAMILIES = ["fnet", "bert", "ff_only", "linear", "random", "fnet_hybrid", "performer",
            "hartley", "dct", "hadamard"]
REFERENCES = ["keras_hub_fnet", "keras_hub_bert", "hf_fnet", "hf_bert"]
ALL_MODELS = FAMILIES + REFERENCES
INFER_MODELS = ["fnet", "bert", "ff_only", "keras_hub_fnet", "keras_hub_bert", "hf_fnet", "hf_bert"]
SUITES = {
    "main": dict(lengths=[512], num_layers=4, hidden_dim=256, intermediate_dim=1024, num_heads=4,
                 batch=8, tokens=None, modes=["train", "infer"], models=ALL_MODELS,
                 infer_models=INFER_MODELS),
    "long": dict(lengths=[128, 512, 2048, 4096, 8192], num_layers=2, hidden_dim=128,
                 intermediate_dim=512, num_heads=2, batch=None, tokens=8192, modes=["train"],
                 models=["fnet", "ff_only", "bert", "performer", "keras_hub_fnet",
                         "keras_hub_bert", "hf_fnet", "hf_bert"]),
}
COLUMNS = ["suite", "backend", "model", "source", "mode", "length", "batch", "num_layers",
           "hidden_dim", "intermediate_dim", "num_heads", "vocabulary_size", "dtype", "jit",
           "fourier", "status", "median_ms", "p25_ms", "p75_ms", "rounds", "tokens_per_s",
           "first_step_s", "rss_growth_mb", "peak_rss_mb", "device_peak_mb"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="full", choices=["main", "long", "full"],
                   help="preset of sizes, lengths and models (flags below override it)")
    p.add_argument("--backends", default="jax,tensorflow,torch",
                   help="comma-separated Keras backends, each run in its own process")
    p.add_argument("--models", help=f"comma-separated models from {ALL_MODELS}")
    p.add_argument("--lengths", help="comma-separated sequence lengths")
    p.add_argument("--batch", type=int, help="fixed batch size (overrides --tokens)")
    p.add_argument("--tokens", type=int, help="tokens per batch: batch = max(1, tokens // length)")
    p.add_argument("--num-layers", type=int, help="encoder blocks")
    p.add_argument("--hidden-dim", type=int, help="hidden size")
    p.add_argument("--intermediate-dim", type=int, help="feed-forward size")
    p.add_argument("--num-heads", type=int, help="attention heads (bert, performer, hybrid)")
    p.add_argument("--vocabulary-size", type=int, default=1000,
                   help="vocabulary (small, so that embedding gradients do not dominate)")
    p.add_argument("--modes", help="comma-separated: train, infer")
    p.add_argument("--dtype", default="float32",
                   help="Keras dtype policy, e.g. float32 or mixed_bfloat16 (transformers rows: "
                        "autocast to bfloat16 on GPU)")
    p.add_argument("--rounds", type=int, default=6, help="interleaved timing rounds (median kept)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per model after compiling")
    p.add_argument("--time-limit", type=float, default=40.0,
                   help="seconds a single warm step may take; slower models are recorded "
                        "as 'timeout' and not timed")
    p.add_argument("--budget", type=float, default=75.0,
                   help="seconds of timing rounds per (backend, length, mode); fewer rounds "
                        "(at least 3) are run when they would take longer")
    p.add_argument("--max-memory-gb", type=float, default=12.0,
                   help="models whose attention matrices alone are estimated above this are "
                        "recorded as 'oom (estimated)' instead of run")
    p.add_argument("--worker-timeout", type=float, default=1500.0,
                   help="seconds one backend's worker may run before it is killed")
    p.add_argument("--out", default=RESULTS, help="folder for speed.csv, speed.md, speed_*.png")
    p.add_argument("--append", action="store_true",
                   help="add to the existing speed.csv instead of replacing it")
    p.add_argument("--quick", action="store_true",
                   help="toy sizes for a smoke test (lengths 16,32, 1 layer, hidden 16, 2 rounds)")
    p.add_argument("--report-only", action="store_true",
                   help="only redraw speed.md and the plots from the existing speed.csv")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def suite_specs(args):
    """The worker specs (one per suite) that the flags describe."""
    names = ["main", "long"] if args.suite == "full" else [args.suite]
    specs = []
    for name in names:
        spec = dict(SUITES[name], suite=name)
        if args.quick:
            spec.update(lengths=[16, 32], num_layers=1, hidden_dim=16, intermediate_dim=32,
                        num_heads=2, batch=2, tokens=None)
        if args.models:
            spec["infer_models"] = None
        overrides = dict(models=args.models, lengths=args.lengths, modes=args.modes)
        for key, value in overrides.items():
            if value:
                spec[key] = [int(v) if key == "lengths" else v for v in value.split(",")]
        for key in ("num_layers", "hidden_dim", "intermediate_dim", "num_heads"):
            if getattr(args, key) is not None:
                spec[key] = getattr(args, key)
        if args.batch:
            spec.update(batch=args.batch, tokens=None)
        elif args.tokens:
            spec.update(batch=None, tokens=args.tokens)
        spec.update(vocabulary_size=args.vocabulary_size, dtype=args.dtype,
                    rounds=2 if args.quick else args.rounds, warmup=1 if args.quick else args.warmup,
                    time_limit=args.time_limit, budget=args.budget,
                    max_memory_gb=args.max_memory_gb)
        specs.append(spec)
    return specs


def batch_for(spec, length):
    return spec["batch"] or max(1, spec["tokens"] // length)


# ----------------------------------------------------------------------------
# Worker: builds and times the models of one backend


def _jit_setting(backend):
    return {"jax": True, "tensorflow": True}.get(backend, False)


def _device_kind():
    from keras_fnet import backend_specific

    return backend_specific.device_kind()


def _estimated_attention_gb(model, spec, length, batch):
    """Attention scores, probabilities and dropout mask kept for the backward pass."""
    attention_layers = {"bert": spec["num_layers"], "keras_hub_bert": spec["num_layers"],
                        "hf_bert": spec["num_layers"],
                        "fnet_hybrid": min(2, spec["num_layers"])}.get(model, 0)
    return 3 * 4 * batch * spec["num_heads"] * length * length * attention_layers / 2**30


class KerasModel:
    """A Keras classifier (zoo or keras-hub) behind `train()` / `infer()`."""

    source = "keras_fnet"

    def __init__(self, name, spec, length, batch):
        import keras

        self.name = name
        rng = np.random.default_rng(0)
        inputs = {
            "token_ids": rng.integers(0, spec["vocabulary_size"], (batch, length)).astype("int32"),
            "segment_ids": (np.arange(length)[None, :] >= length // 2).repeat(batch, 0).astype("int32"),
            "padding_mask": np.ones((batch, length), "int32"),
        }
        self.y = rng.integers(0, 2, (batch,)).astype("int32")
        dtype = None if spec["dtype"] == "float32" else spec["dtype"]
        self.fourier = ""
        if name in FAMILIES:
            import keras_fnet

            model = keras_fnet.build_classifier(
                f"{name}_tiny", compile=False, dtype=dtype,
                vocabulary_size=spec["vocabulary_size"], num_layers=spec["num_layers"],
                hidden_dim=spec["hidden_dim"], intermediate_dim=spec["intermediate_dim"],
                num_heads=spec["num_heads"], max_sequence_length=length)
            for layer in model.encoder.layers:
                mixing = getattr(layer, "mixing", None)
                if hasattr(mixing, "resolved_implementation"):
                    self.fourier = mixing.resolved_implementation(length)
        else:
            import keras_hub

            self.source = "keras_hub"
            common_kwargs = dict(vocabulary_size=spec["vocabulary_size"],
                                 num_layers=spec["num_layers"], hidden_dim=spec["hidden_dim"],
                                 intermediate_dim=spec["intermediate_dim"], dropout=0.1,
                                 max_sequence_length=length, num_segments=4, dtype=dtype)
            if name == "keras_hub_fnet":
                backbone = keras_hub.models.FNetBackbone(**common_kwargs)
                self.fourier = "ops.fft2"
            else:
                backbone = keras_hub.models.BertBackbone(num_heads=spec["num_heads"], **common_kwargs)
            inputs = {key: inputs[key] for key in backbone.input}
            symbolic = {key: keras.Input(shape=(None,), dtype="int32", name=key) for key in inputs}
            pooled = backbone(symbolic)["pooled_output"]
            pooled = keras.layers.Dropout(0.1)(pooled)
            logits = keras.layers.Dense(2, dtype="float32")(pooled)
            model = keras.Model(symbolic, logits)
        optimizer = keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01, epsilon=1e-6)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=_jit_setting(keras.backend.backend()))
        self.jit = f"jit_compile={model.jit_compile}"
        self.model, self.x = model, inputs

    def train(self):
        self.model.train_on_batch(self.x, self.y)  # Returns numpy: blocks until done.

    def infer(self):
        np.asarray(self.model.predict_on_batch(self.x))


class HFModel:
    """A transformers (PyTorch) FNetModel/BertModel with the same head and optimizer."""

    source = "transformers"

    def __init__(self, name, spec, length, batch):
        import torch
        import transformers

        self.name = name
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.autocast = spec["dtype"] != "float32" and self.device == "cuda"
        h = spec["hidden_dim"]
        shared = dict(vocab_size=spec["vocabulary_size"], hidden_size=h,
                      num_hidden_layers=spec["num_layers"],
                      intermediate_size=spec["intermediate_dim"], hidden_dropout_prob=0.1,
                      max_position_embeddings=length, type_vocab_size=4, hidden_act="gelu_new")
        if name == "hf_fnet":
            config = transformers.FNetConfig(use_tpu_fourier_optimizations=False, **shared)
            self.model = transformers.FNetModel(config)
            self.fourier = "torch.fft.fftn"
        else:
            config = transformers.BertConfig(num_attention_heads=spec["num_heads"],
                                             attention_probs_dropout_prob=0.1, **shared)
            self.model = transformers.BertModel(config, add_pooling_layer=True)
            self.fourier = ""
        self.jit = f"eager, attn={getattr(config, '_attn_implementation', None)}"
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(h, 2))
        self.model.to(self.device)
        self.head.to(self.device)
        params = list(self.model.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, eps=1e-6)
        gen = torch.Generator().manual_seed(0)
        self.kwargs = dict(
            input_ids=torch.randint(0, spec["vocabulary_size"], (batch, length), generator=gen),
            token_type_ids=(torch.arange(length)[None, :] >= length // 2).repeat(batch, 1).long())
        if name == "hf_bert":
            self.kwargs["attention_mask"] = torch.ones(batch, length, dtype=torch.long)
        self.kwargs = {k: v.to(self.device) for k, v in self.kwargs.items()}
        self.y = torch.randint(0, 2, (batch,), generator=gen).to(self.device)

    def _forward(self):
        import torch

        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.autocast):
            pooled = self.model(**self.kwargs).pooler_output
            return self.head(pooled)

    def train(self):
        import torch

        self.model.train()
        self.head.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self._forward().float(), self.y)
        loss.backward()
        self.optimizer.step()
        loss.item()

    def infer(self):
        import torch

        self.model.eval()
        self.head.eval()
        with torch.no_grad():
            self._forward().float().cpu()


class DeviceMemory:
    """Peak device memory on a GPU, per backend (no-op on CPU)."""

    def __init__(self, backend):
        self.backend, self.gpu = backend, _device_kind() == "gpu"

    def reset(self):
        if not self.gpu:
            return
        try:
            if self.backend == "torch":
                import torch

                torch.cuda.reset_peak_memory_stats()
            elif self.backend == "tensorflow":
                import tensorflow as tf

                tf.config.experimental.reset_memory_stats("GPU:0")
        except Exception:
            pass

    def peak_mb(self):
        if not self.gpu:
            return ""
        try:
            if self.backend == "torch":
                import torch

                return torch.cuda.max_memory_allocated() / 2**20
            if self.backend == "tensorflow":
                import tensorflow as tf

                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
            import jax  # Peak since the process started: cannot be reset.

            return jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**20
        except Exception:
            return ""


def _status_of(error):
    text = f"{type(error).__name__}: {error}".lower()
    if "memory" in text or "resource_exhausted" in text or "resourceexhausted" in text:
        return "oom"
    return f"error: {type(error).__name__}: {str(error).splitlines()[0][:80] if str(error) else ''}"


def worker(spec):
    import keras

    backend = keras.backend.backend()
    log = common.progress
    device_memory = DeviceMemory(backend)
    # One-time costs (imports, runtime and compiler start-up) go here, so that
    # the first model measured does not carry them in its RSS growth.
    if any(name.startswith("keras_hub") for name in spec["models"]):
        import keras_hub  # noqa: F401
    if backend == "torch" and any(name.startswith("hf_") for name in spec["models"]):
        import transformers  # noqa: F401
    tiny = dict(spec, num_layers=1, hidden_dim=8, intermediate_dim=8, num_heads=2)
    warm = KerasModel("ff_only", tiny, 8, 2)
    warm.train()
    warm.infer()
    del warm
    gc.collect()
    for length in spec["lengths"]:
        batch = batch_for(spec, length)
        base = dict(suite=spec["suite"], backend=backend, length=length, batch=batch,
                    num_layers=spec["num_layers"], hidden_dim=spec["hidden_dim"],
                    intermediate_dim=spec["intermediate_dim"], num_heads=spec["num_heads"],
                    vocabulary_size=spec["vocabulary_size"], dtype=spec["dtype"])
        models = {}
        for mode in spec["modes"]:
            runners = {}
            names = spec["models"] if mode == "train" else spec.get("infer_models") or spec["models"]
            for name in [n for n in names if n in spec["models"]]:
                source = {"keras_hub_fnet": "keras_hub", "keras_hub_bert": "keras_hub",
                          "hf_fnet": "transformers", "hf_bert": "transformers"}.get(name, "keras_fnet")
                row = dict(base, model=name, source=source, mode=mode)
                if source == "transformers" and backend != "torch":
                    continue  # PyTorch rows: reported once, with the torch backend.
                estimate = _estimated_attention_gb(name, spec, length, batch)
                if estimate > spec["max_memory_gb"]:
                    common.emit(dict(row, status=f"oom (estimated {estimate:.0f} GB)"))
                    continue
                gc.collect()
                rss_before = common.rss_mb()
                common.reset_peak_rss()
                device_memory.reset()
                start = time.perf_counter()
                try:
                    if name not in models:
                        cls = HFModel if source == "transformers" else KerasModel
                        models[name] = cls(name, spec, length, batch)
                    model = models[name]
                    step = getattr(model, mode)
                    step()
                    first = time.perf_counter() - start
                    warm = min(common.timed(step) for _ in range(max(1, spec["warmup"])))
                except Exception as error:  # Recorded, not dropped.
                    log(f"{backend} {name} L={length} {mode}: {type(error).__name__}: {error}")
                    models.pop(name, None)
                    common.emit(dict(row, status=_status_of(error)))
                    continue
                row.update(jit=model.jit, fourier=model.fourier, first_step_s=first,
                           rss_growth_mb=common.peak_rss_mb() - rss_before,
                           peak_rss_mb=common.peak_rss_mb(), device_peak_mb=device_memory.peak_mb())
                log(f"{backend} L={length} b={batch} {mode} {name}: first step {first:.1f}s, "
                    f"warm step {1e3 * warm:.0f} ms, RSS +{row['rss_growth_mb']:.0f} MB")
                if warm > spec["time_limit"]:
                    common.emit(dict(row, status=f"timeout (step {warm:.0f}s > {spec['time_limit']:.0f}s)"))
                    continue
                runners[name] = (step, row)
            if not runners:
                continue
            log(f"{backend} L={length} {mode}: timing {len(runners)} models in interleaved rounds")
            stats = common.interleaved_medians({n: s for n, (s, _) in runners.items()},
                                               spec["rounds"], budget_s=spec["budget"], log=log)
            for name, s in stats.items():
                row = runners[name][1]
                common.emit(dict(row, status="ok", median_ms=1e3 * s["median_s"],
                                 p25_ms=1e3 * s["p25_s"], p75_ms=1e3 * s["p75_s"],
                                 rounds=s["rounds"], tokens_per_s=batch * length / s["median_s"]))
        models.clear()
        keras.backend.clear_session()
        gc.collect()


# ----------------------------------------------------------------------------
# Parent: one worker per (suite, backend), then the report


def expected_rows(spec, backend):
    """(model, length, mode) the worker should report, to record the ones it did not."""
    for length in spec["lengths"]:
        for mode in spec["modes"]:
            names = spec["models"] if mode == "train" else spec.get("infer_models") or spec["models"]
            for name in [n for n in names if n in spec["models"]]:
                if name.startswith("hf_") and backend != "torch":
                    continue
                yield name, length, mode


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return
    os.makedirs(args.out, exist_ok=True)
    csv_path = os.path.join(args.out, "speed.csv")
    if args.report_only:
        report(args.out)
        return
    rows = common.read_csv(csv_path) if args.append and os.path.exists(csv_path) else []
    machine = common.machine_description()
    start = time.time()
    for spec in suite_specs(args):
        for backend in args.backends.split(","):
            print(f"== suite {spec['suite']}, backend {backend}, lengths {spec['lengths']}, "
                  f"models {spec['models']} ({time.time() - start:.0f}s)", flush=True)
            got, status = common.run_worker("benchmarks.speed", backend, spec,
                                            timeout_s=args.worker_timeout)
            seen = {(r["model"], r["length"], r["mode"]) for r in got}
            for name, length, mode in expected_rows(spec, backend):
                if (name, length, mode) not in seen:
                    got.append(dict(suite=spec["suite"], backend=backend, model=name, mode=mode,
                                    length=length, batch=batch_for(spec, length),
                                    status=f"killed ({status})" if status != "ok" else "missing"))
            if status != "ok":
                print(f"[{backend}] worker ended: {status}", flush=True)
            rows += got
            common.write_csv(csv_path, rows, COLUMNS)
    with open(os.path.join(args.out, "speed_machine.json"), "w") as f:
        json.dump(machine, f, indent=1)
    report(args.out, machine)
    print(f"wrote {args.out}/speed.csv, speed.md and plots in {time.time() - start:.0f}s")


# ----------------------------------------------------------------------------
# Report: Markdown tables, targets, plots

BACKENDS = ["jax", "tensorflow", "torch"]


def _index(rows):
    table = {}
    for r in rows:
        key = (r["suite"], r["backend"], r["model"], r["mode"], int(r["length"]))
        table[key] = r
    return table


def _ms(row):
    return common.as_float(row["median_ms"]) if row and row.get("status") == "ok" else float("nan")


def _ms_or_bound(row):
    """Median ms; for a model that timed out, its one warm step (a lower bound)."""
    if row and row.get("status", "").startswith("timeout (step "):
        return 1e3 * common.as_float(row["status"].split("step ")[1].split("s")[0]), True
    return _ms(row), False


def _mem(row):
    return common.as_float(row.get("rss_growth_mb")) if row else float("nan")


def _cell(row, fmt="{:.0f}"):
    if not row:
        return ""
    if row.get("status") != "ok":
        return row.get("status", "").split(" (")[0]
    return fmt.format(_ms(row))


def targets(rows):
    """The issue's targets: list of (target, backend, value, limit, met)."""
    t = _index(rows)
    out = []

    def ratio(a, b):
        return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")

    for backend in BACKENDS:
        get = lambda model, length=512, suite="main": t.get((suite, backend, model, "train", length))
        checks = [
            ("fnet / keras-hub FNetBackbone, train step, L=512", _ms(get("fnet")), _ms(get("keras_hub_fnet")), 1.0, "le"),
            ("bert / keras-hub BertBackbone, train step, L=512", _ms(get("bert")), _ms(get("keras_hub_bert")), 1.05, "le"),
            ("fnet / ff_only, train step, L=512", _ms(get("fnet")), _ms(get("ff_only")), 1.10, "le"),
        ]
        for length in (4096, 8192):
            bert, bound = _ms_or_bound(get("bert", length, "long"))
            checks.append((f"bert / fnet (speed-up), train step, L={length}"
                           + (" (bert timed out: lower bound)" if bound else ""),
                           bert, _ms(get("fnet", length, "long")), 5.0, "ge"))
            checks.append((f"fnet / ff_only RSS growth, train, L={length}",
                           _mem(get("fnet", length, "long")), _mem(get("ff_only", length, "long")), 1.2, "le"))
        for name, a, b, limit, sense in checks:
            value = ratio(a, b)
            if math.isnan(value):
                out.append((name, backend, value, limit, sense, None))
            else:
                out.append((name, backend, value, limit, sense,
                            value <= limit if sense == "le" else value >= limit))
    return out


def report(out, machine=None):
    rows = common.read_csv(os.path.join(out, "speed.csv"))
    if machine is None:
        machine = common.saved_machine(out, "speed")
    t = _index(rows)
    backends = [b for b in BACKENDS if any(r["backend"] == b for r in rows)]
    lines = ["# Speed and memory of the zoo, per backend", "",
             "Produced by `python -m benchmarks.speed`. Median step time in milliseconds "
             "(training step = `train_on_batch`, inference = `predict_on_batch`); models of one "
             "backend and length are timed in interleaved rounds, so compare rows of one backend "
             "as ratios. Memory: growth of the process RSS from before the model is built to the "
             "peak of its compile and first steps (weights, optimizer state, activations).", ""]
    # Targets.
    checks = targets(rows)
    if any(c[5] is not None for c in checks):
        lines += ["## Targets of issue 6", "", common.markdown_table(
            ["target", "backend", "measured", "limit", "met"],
            [[name, backend, "" if math.isnan(v) else f"{v:.2f}",
              ("<= " if sense == "le" else ">= ") + f"{limit:g}",
              "n/a" if met is None else ("yes" if met else "**no**")]
             for name, backend, v, limit, sense, met in checks]), ""]
    # Settings.
    jits = {}
    for r in rows:
        if r.get("jit"):
            jits.setdefault((r["backend"], r["source"]), r["jit"])
    lines += ["Compilation: " + "; ".join(f"{b} {s}: {j}" for (b, s), j in sorted(jits.items())) + ".", ""]
    for suite in ("main", "long"):
        suite_rows = [r for r in rows if r["suite"] == suite]
        if not suite_rows:
            continue
        r0 = suite_rows[0]
        lines += [f"## Suite `{suite}`: {r0['num_layers'] or '?'} layers, hidden {r0['hidden_dim'] or '?'}, "
                  f"feed-forward {r0['intermediate_dim'] or '?'}, {r0['num_heads'] or '?'} heads, "
                  f"dtype {r0['dtype'] or '?'}", ""]
        lengths = sorted({int(r["length"]) for r in suite_rows})
        models = []
        for r in suite_rows:
            if r["model"] not in models:
                models.append(r["model"])
        modes = [m for m in ("train", "infer") if any(r["mode"] == m for r in suite_rows)]
        if len(lengths) == 1:
            length = lengths[0]
            batch = suite_rows[0]["batch"]
            header = ["model"]
            for mode in modes:
                header += [f"{b} {mode} ms" for b in backends]
            header += [f"{b} train / ff_only" for b in backends]
            header += [f"{b} train RSS MB" for b in backends]
            table = []
            for m in models:
                cells = [m]
                for mode in modes:
                    cells += [_cell(t.get((suite, b, m, mode, length))) for b in backends]
                for b in backends:
                    a = _ms(t.get((suite, b, m, "train", length)))
                    ref = _ms(t.get((suite, b, "ff_only", "train", length)))
                    cells.append("" if math.isnan(a) or math.isnan(ref) else f"{a / ref:.2f}")
                for b in backends:
                    mem = _mem(t.get((suite, b, m, "train", length)))
                    cells.append("" if math.isnan(mem) else f"{mem:.0f}")
                table.append(cells)
            lines += [f"Length {length}, batch {batch}.", "", common.markdown_table(header, table), ""]
        else:
            batches = ", ".join(f"{n}: {batch_for_row(suite_rows, n)}" for n in lengths)
            lines += [f"Training step, milliseconds; batch per length {batches}.", ""]
            for mode in modes:
                header = ["model", "backend"] + [str(n) for n in lengths]
                table = [[m, b] + [_cell(t.get((suite, b, m, mode, n))) for n in lengths]
                         for m in models for b in backends
                         if any((suite, b, m, mode, n) in t for n in lengths)]
                lines += [common.markdown_table(header, table), ""]
            header = ["model", "backend"] + [str(n) for n in lengths]
            table = [[m, b] + [("" if math.isnan(_mem(t.get((suite, b, m, "train", n))))
                                else f"{_mem(t.get((suite, b, m, 'train', n))):.0f}") for n in lengths]
                     for m in models for b in backends
                     if any((suite, b, m, "train", n) in t for n in lengths)]
            lines += ["RSS growth (MB) during each model's build, compile and first training steps:",
                      "", common.markdown_table(header, table), ""]
    lines += ["![step time vs length](speed_lengths.png)", "",
              "![backend vs backend](speed_backends.png)", "", "## Machine", "",
              common.machine_markdown(machine), ""]
    with open(os.path.join(out, "speed.md"), "w") as f:
        f.write("\n".join(lines))
    plot(rows, out)


def batch_for_row(rows, length):
    for r in rows:
        if int(r["length"]) == length and r.get("batch"):
            return r["batch"]
    return "?"


MODEL_STYLE = {
    "fnet": ("tab:red", "-"), "bert": ("tab:blue", "-"), "ff_only": ("black", "-"),
    "performer": ("tab:purple", "-"), "linear": ("tab:olive", "-"), "random": ("tab:pink", "-"),
    "fnet_hybrid": ("tab:orange", "-"), "hartley": ("tab:cyan", "-"), "dct": ("tab:brown", "-"),
    "hadamard": ("tab:gray", "-"), "keras_hub_fnet": ("tab:red", "--"),
    "keras_hub_bert": ("tab:blue", "--"), "hf_fnet": ("tab:red", ":"), "hf_bert": ("tab:blue", ":"),
}
BACKEND_COLOR = {"jax": "tab:green", "tensorflow": "tab:orange", "torch": "tab:red"}


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = _index(rows)
    backends = [b for b in BACKENDS if any(r["backend"] == b for r in rows)]
    long_rows = [r for r in rows if r["suite"] == "long" and r["mode"] == "train"]
    suite = "long" if long_rows else (rows[0]["suite"] if rows else "main")
    sweep = [r for r in rows if r["suite"] == suite and r["mode"] == "train"]
    lengths = sorted({int(r["length"]) for r in sweep})
    models = []
    for r in sweep:
        if r["model"] not in models:
            models.append(r["model"])
    # Step time and memory vs length, one column per backend.
    if backends and lengths:
        fig, axes = plt.subplots(2, len(backends), figsize=(5.5 * len(backends), 9),
                                 squeeze=False, sharey="row")
        for col, b in enumerate(backends):
            for m in models:
                color, style = MODEL_STYLE.get(m, ("gray", "-"))
                pts = [(n, _ms(t.get((suite, b, m, "train", n)))) for n in lengths]
                pts = [(n, v) for n, v in pts if not math.isnan(v)]
                if pts:
                    axes[0][col].plot(*zip(*pts), style, color=color, marker="o", ms=3, label=m)
                pts = [(n, _mem(t.get((suite, b, m, "train", n)))) for n in lengths]
                pts = [(n, v) for n, v in pts if not math.isnan(v) and v > 0]
                if pts:
                    axes[1][col].plot(*zip(*pts), style, color=color, marker="o", ms=3, label=m)
            for row_index, label in enumerate(("training step (ms, median)", "RSS growth (MB)")):
                ax = axes[row_index][col]
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.grid(True, which="both", alpha=0.3)
                ax.set_xlabel("sequence length (tokens per batch fixed)")
                ax.set_title(f"{b}")
                if col == 0:
                    ax.set_ylabel(label)
        axes[0][0].legend(fontsize=8, ncol=2)
        fig.suptitle(f"Suite '{suite}': training step and memory vs length")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "speed_lengths.png"), dpi=100)
        plt.close(fig)
    # Backend vs backend: main-suite bars, and fnet/bert per backend vs length.
    main_rows = [r for r in rows if r["suite"] == "main" and r["mode"] == "train"]
    fig, axes = plt.subplots(1, 2, figsize=(15, 6))
    if main_rows:
        length = int(main_rows[0]["length"])
        main_models = []
        for r in main_rows:
            if r["model"] not in main_models:
                main_models.append(r["model"])
        ax = axes[0]
        width = 0.8 / max(1, len(backends))
        for i, b in enumerate(backends):
            values = [_ms(t.get(("main", b, m, "train", length))) for m in main_models]
            ax.barh([y + i * width for y in range(len(main_models))],
                    [0 if math.isnan(v) else v for v in values], height=width,
                    color=BACKEND_COLOR.get(b), label=b)
        ax.set_yticks([y + width * (len(backends) - 1) / 2 for y in range(len(main_models))])
        ax.set_yticklabels(main_models)
        ax.invert_yaxis()
        ax.set_xlabel("training step (ms, median)")
        ax.set_title(f"Suite 'main': length {length}, per backend")
        ax.legend()
        ax.grid(True, axis="x", alpha=0.3)
    ax = axes[1]
    for b in backends:
        for m, style in (("fnet", "-"), ("bert", "--"), ("ff_only", ":")):
            pts = [(n, _ms(t.get((suite, b, m, "train", n)))) for n in lengths]
            pts = [(n, v) for n, v in pts if not math.isnan(v)]
            if pts:
                ax.plot(*zip(*pts), style, color=BACKEND_COLOR.get(b), marker="o", ms=3,
                        label=f"{m} ({b})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_xlabel("sequence length")
    ax.set_ylabel("training step (ms, median)")
    ax.set_title(f"Suite '{suite}': fnet, bert, ff_only per backend")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "speed_backends.png"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
