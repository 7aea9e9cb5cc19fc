"""The speed targets, as data: one row per ratio the report checks.

Each row: (name, suites, modes, model, reference, limit, sense).
`reference` is a model name, or `FASTEST_BERT` (the fastest of the BERT rows
of that backend and cell); `sense` "le" means ratio <= limit, "ge" ratio >=
limit, "info" a ratio reported without a limit. Ratios are medians of the
per-round ratios of interleaved timings (same process, same rounds).
"""

FASTEST_BERT = "fastest BERT"
BERTS = ["bert", "keras_hub_bert", "hf_bert"]

BOTH_SHAPES = ("main", "small")
BOTH_MODES = ("train", "infer")

TARGETS = [
    # (name, suites, modes, model, reference, limit, sense)
    ("keras_fnet / plain framework FNet", BOTH_SHAPES, BOTH_MODES, "fnet", "plain_fnet", 1.10,
     "le"),
    ("fnet / ff_only (FFT share)", BOTH_SHAPES, ("train",), "fnet", "ff_only", 1.10, "le"),
    ("bert / fastest BERT", BOTH_SHAPES, BOTH_MODES, "bert", FASTEST_BERT, 1.05, "le"),
    ("fastest BERT / fnet (speed-up)", BOTH_SHAPES, BOTH_MODES, FASTEST_BERT, "fnet", None, "info"),
    ("bert / fnet (speed-up)", BOTH_SHAPES, BOTH_MODES, "bert", "fnet", None, "info"),
    ("keras-hub FNetBackbone / fnet", BOTH_SHAPES, ("train",), "keras_hub_fnet", "fnet", None,
     "info"),
]
