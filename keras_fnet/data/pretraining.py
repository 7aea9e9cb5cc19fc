"""Pretraining examples (MLM + NSP) as in FNet's official input pipeline.

From each document (C4 `text`):

1. Split into lines (newlines); empty lines are skipped and counted. Lines
   that are not valid UTF-8 are repaired (U+FFFD).
2. Tokenize each line. `pairing` says what happens to lines that do not fit:
   * `"official"` (default), as the official FNet input pipeline
     (`f_net/input_pipeline.py`): a line that does not fit in
     `max_length - 3` tokens together with the next one is skipped
     (counted in `skipped_lines`), and a one-line document gives no example
     (counted in `short_documents`).
   * `"truncate"` (this project's first choice, kept as an option): a line
     longer than half of the room is truncated (`truncated_lines`), so any
     two consecutive lines fit, and a one-line document is split in two at a
     random token, so that it still gives an NSP pair. Keeps every document
     (useful for small corpora of long one-line documents) but trains on
     pairs the official model never saw.
3. Greedily group consecutive lines into spans of at most `max_length - 3`
   tokens; each span of >= 2 lines gives one example. A random pivot splits
   the span into segments A and B; with probability 1/2 they are swapped.
   Packed as `[CLS] A [SEP] B [SEP]`; `nsp` label 0 = B follows A,
   1 = swapped (the official convention).
4. Masked LM: 15% of the non-special tokens (at least 1, at most
   `max_predictions`) are selected; 80% become `[MASK]`, 10% a random
   non-special token, 10% stay unchanged. `[CLS]`, `[SEP]`, `<pad>` and
   `[MASK]` are never selected nor used as random replacements.

The line grouping and the masking are numpy functions inside `tf.data`
(`tf.numpy_function`), driven by one seeded `numpy.random.Generator`, so a
pipeline is deterministic for a seed. Tokenization uses the keras-hub
`FNetTokenizer`. keras-hub's `MaskedLMMaskGenerator` is not used because its
random replacements are drawn from the whole vocabulary (special tokens
included) and it takes no seed.

Batches: features `token_ids`, `segment_ids`, `padding_mask` int32 `[B, L]`
and `mask_positions` int32 `[B, P]`; labels `{"mlm": int32 [B, P],
"nsp": int32 [B]}`; sample weights `{"mlm": float32 [B, P], "nsp": float32 [B]}` (ones).

This module imports TensorFlow (data edge).
"""

import numpy as np

from keras_fnet.preprocessing.masking import mask_tokens  # noqa: F401  (used here, and by callers)

PAIRINGS = ("official", "truncate")
_COUNTERS = ("documents", "examples", "truncated_lines", "skipped_lines",
             "short_documents")


def _truncate_lines(lines, limit, rng, stats):
    """The "truncate" pairing: split a one-line document, cut long lines."""
    if len(lines) == 1 and len(lines[0]) >= 2:
        cut = int(rng.integers(1, len(lines[0])))
        lines = [lines[0][:cut], lines[0][cut:]]
    clipped = []
    for x in lines:
        if len(x) > limit:
            stats["truncated_lines"] += 1
            x = x[:limit]
        clipped.append(x)
    return clipped


def build_nsp_examples(lines, max_length, rng, cls_id, sep_id, pad_id=0,
                       stats=None, pairing="official"):
    """Group the tokenized lines of one document into NSP examples.

    Args:
        lines: list of 1-D int arrays (token ids of each line, no specials).
        max_length: sequence length L.
        rng: `numpy.random.Generator`.
        cls_id, sep_id, pad_id: special ids.
        stats: optional dict of counters, updated in place (`documents`,
            `examples`, `truncated_lines`, `skipped_lines`,
            `short_documents`).
        pairing: `"official"` (skip lines that do not fit with the next one;
            one-line documents give nothing) or `"truncate"` (cut long lines,
            split one-line documents); see the module docstring.

    Returns:
        `(token_ids int32 [k, L], segment_ids int32 [k, L], nsp int32 [k])`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> lines = [np.array([5, 6]), np.array([7, 8, 9])]
    >>> ids, seg, nsp = build_nsp_examples(lines, 8, rng, cls_id=2, sep_id=3)
    >>> ids.shape
    (1, 8)
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    stats = stats if stats is not None else {}
    for key in _COUNTERS:
        stats.setdefault(key, 0)
    stats["documents"] += 1
    room = max_length - 3
    if room < 2:
        raise ValueError(f"max_length={max_length} is too short for NSP pairs")
    lines = [np.asarray(x, np.int32) for x in lines if len(x)]
    if pairing == "truncate":
        lines = _truncate_lines(lines, max(room // 2, 1), rng, stats)
    if len(lines) < 2:
        stats["short_documents"] += 1
        empty = np.zeros((0, max_length), np.int32)
        return empty, empty.copy(), np.zeros((0,), np.int32)

    out_ids, out_seg, out_nsp = [], [], []
    j = 0
    while j < len(lines) - 1:
        if len(lines[j]) + len(lines[j + 1]) > room:  # never with "truncate"
            stats["skipped_lines"] += 1
            j += 1
            continue
        total = 0
        k = j
        while k < len(lines) and total + len(lines[k]) <= room:
            total += len(lines[k])
            k += 1
        group = lines[j:k]
        j = k
        if len(group) < 2:
            continue
        pivot = int(rng.integers(1, len(group)))
        a = np.concatenate(group[:pivot])
        b = np.concatenate(group[pivot:])
        swapped = int(rng.random() < 0.5)
        if swapped:
            a, b = b, a
        ids = np.full(max_length, pad_id, np.int32)
        seg = np.zeros(max_length, np.int32)
        packed = np.concatenate([[cls_id], a, [sep_id], b, [sep_id]])
        ids[: len(packed)] = packed
        seg[len(a) + 2: len(packed)] = 1
        out_ids.append(ids)
        out_seg.append(seg)
        out_nsp.append(swapped)
    stats["examples"] += len(out_ids)
    if not out_ids:
        empty = np.zeros((0, max_length), np.int32)
        return empty, empty.copy(), np.zeros((0,), np.int32)
    return (np.stack(out_ids), np.stack(out_seg),
            np.asarray(out_nsp, np.int32))


def pretraining_dataset(documents, tokenizer, batch_size, max_length=512,
                        max_predictions=80, selection_rate=0.15,
                        mask_token_rate=0.8, random_token_rate=0.1, seed=0,
                        shuffle_buffer=1024, drop_remainder=True,
                        repeat=False, stats=None, pairing="official"):
    """MLM + NSP batches from a `tf.data.Dataset` of document strings.

    Args:
        documents: `tf.data.Dataset` of scalar string tensors.
        tokenizer: a keras-hub `FNetTokenizer` (see `tokenizer.load_tokenizer`).
        batch_size: examples per batch.
        max_length: sequence length L.
        max_predictions: P, masked positions per sequence.
        selection_rate, mask_token_rate, random_token_rate: masking rates.
        seed: seed of the example building, masking and shuffling.
        shuffle_buffer: examples mixed across documents (0: no shuffle).
        drop_remainder: drop the last incomplete batch.
        repeat: repeat the documents forever.
        stats: optional dict, filled with counters while the pipeline runs
            (documents, examples, truncated_lines, skipped_lines,
            short_documents, empty_lines).
        pairing: `"official"` (default) or `"truncate"`, see
            `build_nsp_examples`.

    Returns:
        `tf.data.Dataset` of `(features, labels, sample_weights)` batches.

    Example:

    >>> import tensorflow as tf
    >>> from keras_fnet.data import tokenizer as tk
    >>> tok = tk.load_tokenizer(tk.mock_vocabulary())
    >>> docs = tf.data.Dataset.from_tensor_slices(["ab cd\\nef gh ij"] * 4)
    >>> x, y, w = next(iter(pretraining_dataset(docs, tok, 2, 16)))  # doctest: +SKIP
    """
    import tensorflow as tf

    from keras_fnet.data import tokenizer as tk

    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    ids = tk.special_ids(tokenizer)
    special = [ids["pad"], ids["cls"], ids["sep"], ids["mask"]]
    vocabulary_size = int(tokenizer.vocabulary_size())
    rng = np.random.default_rng(seed)
    stats = stats if stats is not None else {}
    stats.setdefault("empty_lines", 0)

    def split_and_tokenize(text):
        text = tf.strings.unicode_transcode(
            text, "UTF-8", "UTF-8", errors="replace"
        )
        lines = tf.strings.strip(tf.strings.split(text, "\n"))
        nonempty = tf.strings.length(lines) > 0
        num_empty = tf.reduce_sum(1 - tf.cast(nonempty, tf.int32))
        lines = tf.boolean_mask(lines, nonempty)
        tokens = tokenizer(lines)
        if isinstance(tokens, tf.RaggedTensor):
            return tokens.flat_values, tokens.row_lengths(), num_empty
        return (tf.reshape(tokens, [-1]),
                tf.fill([tf.shape(tokens)[0]], tf.shape(tokens)[1]),
                num_empty)

    def group(flat, lengths, num_empty):
        stats["empty_lines"] += int(num_empty)
        bounds = np.cumsum(np.r_[0, lengths])
        lines = [flat[bounds[i]: bounds[i + 1]] for i in range(len(lengths))]
        return build_nsp_examples(lines, max_length, rng, ids["cls"],
                                  ids["sep"], ids["pad"], stats, pairing)

    def to_examples(flat, lengths, num_empty):
        tok, seg, nsp = tf.numpy_function(
            group, [flat, lengths, num_empty], [tf.int32, tf.int32, tf.int32],
            stateful=True,
        )
        tok = tf.ensure_shape(tok, [None, max_length])
        seg = tf.ensure_shape(seg, [None, max_length])
        nsp = tf.ensure_shape(nsp, [None])
        return tf.data.Dataset.from_tensor_slices((tok, seg, nsp))

    def mask(tok, seg, nsp):
        masked, pos, labels, weights = tf.numpy_function(
            lambda t: mask_tokens(t, rng, special, vocabulary_size,
                                  ids["mask"], selection_rate,
                                  max_predictions, mask_token_rate,
                                  random_token_rate),
            [tok], [tf.int32, tf.int32, tf.int32, tf.float32], stateful=True,
        )
        bdim = batch_size if drop_remainder else None
        shape_l = [bdim, max_length]
        shape_p = [bdim, max_predictions]
        features = {
            "token_ids": tf.ensure_shape(masked, shape_l),
            "segment_ids": tf.ensure_shape(seg, shape_l),
            "padding_mask": tf.ensure_shape(
                tf.cast(tok != ids["pad"], tf.int32), shape_l),
            "mask_positions": tf.ensure_shape(pos, shape_p),
        }
        labels = {"mlm": tf.ensure_shape(labels, shape_p),
                  "nsp": tf.ensure_shape(nsp, [bdim])}
        # One sample weight per output, as Keras wants: NSP weighs every pair the same.
        return features, labels, {"mlm": tf.ensure_shape(weights, shape_p),
                                  "nsp": tf.ones_like(labels["nsp"], tf.float32)}

    ds = documents
    if repeat:
        ds = ds.repeat()
    ds = ds.map(split_and_tokenize).flat_map(to_examples)
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(mask)
    return ds.prefetch(tf.data.AUTOTUNE)
