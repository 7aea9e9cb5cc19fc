"""Training for keras-fnet: a Python API (`training.run.train(RunSpec(...))`) and its
command line (`python -m training.train --help`).

Modules:

* `spec`: `RunSpec`, one serializable, validated description of a run.
* `run`: `train(spec) -> results` (resolve, build, resume, fit, export, evaluate).
* `run_dir`: the run directory contract (lock, same-run check, whole files).
* `checkpoints`: checkpoint files (weights, optimizer, run state) and resume.
* `callbacks`: step counting, stopping, checkpoints, history, TensorBoard scalars.
* `evaluate`: the final evaluation on every evaluation split of the task.
* `devices`, `strategies`: device set-up and the distribution strategy of each backend.
* `optim`: AdamW, the warm-up + linear-decay schedule, mixed precision.
* `train`: the command line.
"""
