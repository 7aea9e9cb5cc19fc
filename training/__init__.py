"""Command-line training for keras-fnet: `python -m training.train --help`.

Modules:

* `train`: the entry point (pretraining, GLUE fine-tuning, Long Range Arena).
* `strategies`: device set-up and the distribution strategy of each backend.
* `optim`: AdamW, the warm-up + linear-decay schedule, mixed precision.
* `checkpoints`: periodic atomic checkpoints and resumption.
"""
