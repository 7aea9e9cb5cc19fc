"""BERT-style masking of token ids for masked-language-model pretraining (numpy only).

`mask_tokens` selects 15% of the non-special tokens (at least 1, at most
`max_predictions`); 80% become `[MASK]`, 10% a random non-special token, 10%
stay unchanged. Special tokens are never selected nor used as random
replacements. The pretraining preprocessor (`PretrainingPreprocessor`) and the
pretraining input pipeline (`keras_fnet.data.pretraining`) both mask with it.
"""

import numpy as np


def mask_tokens(token_ids, rng, special_ids, vocabulary_size, mask_id,
                selection_rate=0.15, max_predictions=80, mask_token_rate=0.8,
                random_token_rate=0.1):
    """BERT-style masking of a batch (numpy).

    Args:
        token_ids: int `[B, L]`.
        rng: `numpy.random.Generator`.
        special_ids: ids that are never selected nor used as random tokens.
        vocabulary_size: random replacements are drawn from
            `[0, vocabulary_size)` minus `special_ids`.
        mask_id: id of `[MASK]`.
        selection_rate: fraction of selectable tokens to predict.
        max_predictions: P, predictions per sequence (padded to P).
        mask_token_rate: fraction of selected tokens replaced by `[MASK]`.
        random_token_rate: fraction replaced by a random token.

    Returns:
        `(masked_ids [B, L], positions [B, P], labels [B, P], weights [B, P])`
        with int32 ids/positions/labels and float32 weights (1 = real).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> ids = np.array([[2, 10, 11, 12, 13, 3, 0, 0]])
    >>> out = mask_tokens(ids, rng, [0, 2, 3, 4], 20, 4, max_predictions=2)
    >>> out[1].shape, out[3].tolist()
    ((1, 2), [[1.0, 0.0]])
    """
    if mask_token_rate + random_token_rate > 1:
        raise ValueError("mask_token_rate + random_token_rate must be <= 1")
    token_ids = np.asarray(token_ids, np.int32)
    batch, length = token_ids.shape
    special = np.asarray(sorted(set(int(s) for s in special_ids)), np.int32)
    selectable = ~np.isin(token_ids, special)
    num_selectable = selectable.sum(axis=1)
    num_predict = np.minimum(
        max_predictions,
        np.maximum(1, np.round(num_selectable * selection_rate).astype(int)),
    )
    num_predict = np.where(num_selectable == 0, 0, num_predict)
    num_predict = np.minimum(num_predict, num_selectable)

    # A random order of the selectable positions: sort random keys with the
    # unselectable ones pushed to the end.
    keys = rng.random((batch, length))
    keys[~selectable] = 2.0
    order = np.argsort(keys, axis=1, kind="stable")[:, :max_predictions]
    if order.shape[1] < max_predictions:
        order = np.pad(order, [(0, 0), (0, max_predictions - order.shape[1])])
    slot = np.arange(max_predictions)[None, :]
    weights = (slot < num_predict[:, None])
    # Sort the real positions ascending; padded slots go last as position 0.
    positions = np.where(weights, order, length)
    positions = np.sort(positions, axis=1)
    positions = np.where(positions == length, 0, positions).astype(np.int32)
    rows = np.arange(batch)[:, None]
    labels = np.where(weights, token_ids[rows, positions], 0).astype(np.int32)

    # 80 / 10 / 10 replacement of the selected tokens.
    draw = rng.random((batch, max_predictions))
    normal = np.setdiff1d(np.arange(vocabulary_size, dtype=np.int32), special)
    random_tokens = normal[rng.integers(0, len(normal),
                                        (batch, max_predictions))]
    replacement = np.where(
        draw < mask_token_rate,
        mask_id,
        np.where(draw < mask_token_rate + random_token_rate,
                 random_tokens, labels),
    ).astype(np.int32)
    masked = token_ids.copy()
    r, c = np.nonzero(weights)
    masked[rows.repeat(max_predictions, 1)[r, c], positions[r, c]] = \
        replacement[r, c]
    return masked, positions, labels, weights.astype(np.float32)
