"""The TFDS pipelines, now `keras_fnet.data.tasks.tfds` (kept so that old imports work)."""

from keras_fnet.data.tasks.tfds import (  # noqa: F401
    C4_NAME,
    C4_SPLITS,
    CIFAR_SPLITS,
    GLUE_TASKS,
    IMDB_SPLITS,
    c4,
    cifar10_pixels,
    glue,
    imdb_bytes,
    resolve_tokenizer,
)
