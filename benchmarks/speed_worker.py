"""The speed benchmark's worker: builds and times the models of one backend.

Run by `benchmarks.speed` as `python -m benchmarks.speed_worker JSON` under
`KERAS_BACKEND=<backend>` (and its thread settings); prints one result row per
(model, length, mode) for the parent (`common.emit`).

Per (length, mode), every model is built, run once (compile) and warmed up,
then all are timed in interleaved rounds (A B C A B C ...). Each row keeps
every round's time, min/median/max, and the machine's load while it was
timed. When any model's spread ((max - min) / median) is above
`spec["max_spread"]`, the whole interleaved group is timed once more and the
second timing kept; a row still above it is marked `wide` in its `flags`.
"""

import gc
import json
import os
import sys
import time

import numpy as np

from benchmarks import common, speed_plain

# Zoo models with one mixing option changed: name -> (family, config overrides).
VARIANTS = {"fnet_fft": ("fnet", dict(mixing_options={"fourier_implementation": "fft"})),
            "fnet_dft": ("fnet", dict(mixing_options={"fourier_implementation": "dft"})),
            "bert_fused": ("bert", dict(mixing_options={"attention_implementation": "fused"})),
            "bert_explicit": ("bert",
                              dict(mixing_options={"attention_implementation": "explicit"}))}
# Reference models: name -> (source, whether every layer keeps [batch, heads, length, length]
# attention scores). Every other model name is a family of the zoo (`zoo_families`).
REFERENCES = {"keras_hub_fnet": ("keras_hub", False), "keras_hub_bert": ("keras_hub", True),
              "hf_fnet": ("transformers", False), "hf_bert": ("transformers", True),
              "plain_fnet": ("plain", False)}
SOURCES = {name: source for name, (source, _) in REFERENCES.items()}
KERAS_HUB_BACKBONES = {"keras_hub_fnet": "FNetBackbone", "keras_hub_bert": "BertBackbone"}


def zoo_families():
    """The zoo's families, from its registry (`keras_fnet.FAMILIES`; imports Keras)."""
    import keras_fnet

    return list(keras_fnet.FAMILIES)


def model_names():
    """Every model the worker can build: the zoo's families, their variants, the references."""
    return zoo_families() + list(VARIANTS) + list(REFERENCES)


def check_models(names):
    """A `ValueError` naming any model the worker cannot build (and the valid ones)."""
    valid = model_names()
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {', '.join(valid)}")


def batch_for(spec, length):
    return spec["batch"] or max(1, spec["tokens"] // length)


def _jit_setting(backend):
    return {"jax": True, "tensorflow": True}.get(backend, False)


def _device_kind():
    from keras_fnet import devices

    return devices.device_kind()


def _zoo_fields(name, spec, length):
    """`(preset, config fields)` of a zoo model (a family or a variant) at the spec's size."""
    if name not in VARIANTS and name not in zoo_families():
        raise ValueError(f"{name!r} is not a model of the zoo; choose from "
                         f"{', '.join(zoo_families() + list(VARIANTS))}")
    family, overrides = VARIANTS.get(name, (name, {}))
    return f"{family}_tiny", dict(
        overrides, vocabulary_size=spec["vocabulary_size"], num_layers=spec["num_layers"],
        hidden_dim=spec["hidden_dim"], intermediate_dim=spec["intermediate_dim"],
        num_heads=spec["num_heads"], max_sequence_length=length)


def quadratic_layers(name, spec):
    """How many layers of a model keep scores quadratic in length (attention)."""
    if name in REFERENCES:
        return spec["num_layers"] if REFERENCES[name][1] else 0
    from keras_fnet import get_config
    from keras_fnet.layers import mixing_class

    preset, fields = _zoo_fields(name, spec, length=8)
    config = get_config(preset, **fields)
    return sum(mixing_class(config.layer_mixing(i)).quadratic_in_length
               for i in range(config.num_layers))


def _estimated_attention_gb(model, spec, length, batch):
    """Attention scores, probabilities and dropout mask kept for the backward pass."""
    layers = quadratic_layers(model, spec)
    return 3 * 4 * batch * spec["num_heads"] * length * length * layers / 2**30


class KerasModel:
    """A Keras classifier (zoo or keras-hub) behind `train()` / `infer()`."""

    source = "keras_fnet"

    def __init__(self, name, spec, length, batch):
        import keras

        self.name = name
        rng = np.random.default_rng(0)
        inputs = {
            "token_ids": rng.integers(0, spec["vocabulary_size"], (batch, length)).astype("int32"),
            "segment_ids": ((np.arange(length)[None, :] >= length // 2)
                            .repeat(batch, 0).astype("int32")),
            "padding_mask": np.ones((batch, length), "int32"),
        }
        self.y = rng.integers(0, 2, (batch,)).astype("int32")
        dtype = None if spec["dtype"] == "float32" else spec["dtype"]
        self.fourier = ""
        if name in KERAS_HUB_BACKBONES:
            import keras_hub

            self.source = "keras_hub"
            common_kwargs = dict(vocabulary_size=spec["vocabulary_size"],
                                 num_layers=spec["num_layers"], hidden_dim=spec["hidden_dim"],
                                 intermediate_dim=spec["intermediate_dim"], dropout=0.1,
                                 max_sequence_length=length, num_segments=4, dtype=dtype)
            if name == "keras_hub_bert":
                common_kwargs["num_heads"] = spec["num_heads"]
            else:
                self.fourier = "ops.fft2"
            backbone = getattr(keras_hub.models, KERAS_HUB_BACKBONES[name])(**common_kwargs)
            inputs = {key: inputs[key] for key in backbone.input}
            symbolic = {key: keras.Input(shape=(None,), dtype="int32", name=key) for key in inputs}
            pooled = backbone(symbolic)["pooled_output"]
            pooled = keras.layers.Dropout(0.1)(pooled)
            logits = keras.layers.Dense(2, dtype="float32")(pooled)
            model = keras.Model(symbolic, logits)
        else:
            import keras_fnet

            preset, fields = _zoo_fields(name, spec, length)
            model = keras_fnet.build_classifier(preset, compile=False, dtype=dtype, **fields)
            for layer in model.encoder.layers:
                mixing = getattr(layer, "mixing", None)
                if getattr(mixing, "mixing_name", None) == "fourier":
                    self.fourier = mixing.resolved_implementation(length)
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
                                             attention_probs_dropout_prob=0.1,
                                             attn_implementation="sdpa", **shared)
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


def make_model(name, spec, length, batch):
    """The runner of one model: an object with `train()`, `infer()`, `jit` and `fourier`."""
    source = SOURCES.get(name, "keras_fnet")
    if source == "plain":
        import keras

        return speed_plain.BY_BACKEND[keras.backend.backend()](spec, length, batch)
    return (HFModel if source == "transformers" else KerasModel)(name, spec, length, batch)


def _threads(backend, requested):
    """Apply and report the number of CPU threads of the timed computations."""
    if backend == "torch":
        import torch

        if requested:
            torch.set_num_threads(requested)
        return torch.get_num_threads()
    return requested or ""


def _prepare(name, mode, spec, length, batch, models, skipped, device_memory, row):
    """Build (once per length), compile and warm up one model; return its step or None.

    Rows that cannot be timed (over the memory estimate, errors, too slow,
    too slow at a shorter length) are emitted here.
    """
    log = common.progress
    if (name, mode) in skipped:
        common.emit(dict(row, status=f"timeout (at L={skipped[name, mode]})"))
        return None
    estimate = _estimated_attention_gb(name, spec, length, batch)
    if estimate > spec["max_memory_gb"]:
        common.emit(dict(row, status=f"oom (estimated {estimate:.0f} GB)"))
        return None
    gc.collect()
    common.malloc_trim()
    rss_before = common.rss_mb()
    common.reset_peak_rss()
    device_memory.reset()
    start = time.perf_counter()
    try:
        if name not in models:
            models[name] = make_model(name, spec, length, batch)
        model = models[name]
        step = getattr(model, mode)
        step()
        first = time.perf_counter() - start
        warm = float("inf")
        for _ in range(max(1, spec["warmup"])):
            warm = min(warm, common.timed(step))
            if warm > spec["time_limit"]:
                break
    except Exception as error:  # Recorded, not dropped.
        log(f"L={length} {mode} {name}: {type(error).__name__}: {str(error)[:300]}")
        models.pop(name, None)
        common.emit(dict(row, status=_status_of(error)))
        return None
    row.update(jit=model.jit, fourier=model.fourier, first_step_s=first,
               rss_growth_mb=common.peak_rss_mb() - rss_before, peak_rss_mb=common.peak_rss_mb(),
               device_peak_mb=device_memory.peak_mb())
    log(f"L={length} b={batch} {mode} {name}: first step {first:.1f}s, warm step "
        f"{1e3 * warm:.0f} ms, RSS +{row['rss_growth_mb']:.0f} MB")
    if warm > spec["time_limit"]:
        skipped[name, mode] = length
        common.emit(dict(row, status=f"timeout (step {warm:.1f}s > {spec['time_limit']:g}s)"))
        return None
    return step


def time_group(steps, spec, log):
    """Interleaved rounds of every step; once more if a spread is too wide.

    Returns (times: name -> [seconds], load: dict, reruns: int).
    """
    for reruns in range(2):
        meter = common.LoadMeter().start()
        times = common.interleaved_times(steps, spec["rounds"], budget_s=spec["budget"], log=log)
        load = meter.stop()
        wide = [n for n, t in times.items() if common.spread(t) > spec["max_spread"]]
        if not wide:
            break
        then = "timing again" if reruns == 0 else "marked 'wide'"
        log(f"  spread above {spec['max_spread']:g} for {wide} (load {load}): {then}")
    return times, load, reruns


def worker(spec):
    import keras

    backend = keras.backend.backend()
    log = common.progress
    try:
        check_models(spec["models"])
    except ValueError as error:
        log(f"error: {error}")
        sys.exit(2)
    device_memory = DeviceMemory(backend)
    threads = _threads(backend, spec.get("threads"))
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
    skipped = {}  # (model, mode) -> the length at which it went over the time limit.
    for length in spec["lengths"]:
        batch = batch_for(spec, length)
        base = dict(suite=spec["suite"], backend=backend, length=length, batch=batch,
                    num_layers=spec["num_layers"], hidden_dim=spec["hidden_dim"],
                    intermediate_dim=spec["intermediate_dim"], num_heads=spec["num_heads"],
                    vocabulary_size=spec["vocabulary_size"], dtype=spec["dtype"], threads=threads)
        models = {}
        for mode in spec["modes"]:
            steps, rows = {}, {}
            for name in spec["models"]:
                if SOURCES.get(name) == "transformers" and backend != "torch":
                    continue  # PyTorch rows: reported once, with the torch backend.
                row = dict(base, model=name, source=SOURCES.get(name, "keras_fnet"), mode=mode)
                step = _prepare(name, mode, spec, length, batch, models, skipped, device_memory,
                                row)
                if step is not None:
                    steps[name], rows[name] = step, row
            if not steps:
                continue
            log(f"L={length} {mode}: timing {len(steps)} models in interleaved rounds")
            times, load, reruns = time_group(steps, spec, log)
            for name, values in times.items():
                wide = common.spread(values) > spec["max_spread"]
                median = float(np.median(values))
                common.emit(dict(rows[name], status="ok", median_ms=1e3 * median,
                                 min_ms=1e3 * min(values), max_ms=1e3 * max(values),
                                 spread=common.spread(values), rounds=len(values),
                                 times_ms=" ".join(f"{1e3 * v:.2f}" for v in values),
                                 tokens_per_s=batch * length / median, reruns=reruns,
                                 flags="wide" if wide else "", **load))
        models.clear()
        keras.backend.clear_session()
        gc.collect()


def _set_priority(nice):
    """Lower (or, as root, raise) this process's CPU priority before any thread starts."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError as error:
            common.progress(f"cannot set nice {nice}: {error}")


if __name__ == "__main__":
    spec = json.loads(sys.argv[-1])
    _set_priority(spec.get("nice", 0))  # Before keras starts its threads, which inherit it.
    worker(spec)  # python -m benchmarks.speed_worker --worker JSON
