"""Tokenizers: FNet's SentencePiece vocabulary, training a new one, bytes.

* `load_tokenizer(proto)` returns a `keras_fnet.preprocessing.Tokenizer` (a
  keras-hub `FNetTokenizer` that always runs tensorflow-text's SentencePiece
  op, so eager and `tf.data` calls give the same ids) for a `.model` file;
  it checks that
  FNet's special tokens `<pad>`, `[CLS]`, `[SEP]`, `[MASK]` are present, so
  the vocabulary of keras-hub's `f_net_base_en` preset (its
  `assets/tokenizer/vocabulary.spm`) works as is.
* `train_sentencepiece(...)` trains a new vocabulary with the same special
  tokens from text files (one sentence or paragraph per line), with byte
  fallback by default (characters outside the vocabulary, e.g. é, CJK or
  emoji, become their UTF-8 bytes `<0xC3>`... rather than `<unk>`).
  `train_sentencepiece_from_texts(texts, ...)` does the same from strings.
  Command line:

      python -m keras_fnet.data.tokenizer --input corpus.txt \\
          --model-prefix vocab/spm --vocab-size 32000

* `byte_ids(text)` is the byte-level "tokenizer" of LRA Text and Retrieval.

This module imports TensorFlow, keras-hub and sentencepiece (data edge).
"""

import argparse
import functools
import io
import os
import re
import sys

from keras_fnet import fileio
from keras_fnet.preprocessing.vocabulary import TokenizerError, check_proto  # noqa: F401

SPECIAL_TOKENS = ("<pad>", "[CLS]", "[SEP]", "[MASK]")
F_NET_VOCABULARY_SIZE = 32000
# Pieces every trained vocabulary holds besides the characters: <pad>, <unk>, the three
# control tokens and, with byte fallback, the 256 byte pieces.
META_PIECES = 1 + len(SPECIAL_TOKENS)
BYTE_PIECES = 256


_REQUIRED_CHARS = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def _clean_lines(paths, stats):
    """Yield non-empty, valid UTF-8 lines of `paths`; count the others."""
    for path in paths:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    stats["invalid_utf8"] += 1
                    continue
                if not line:
                    stats["empty"] += 1
                    continue
                stats["lines"] += 1
                yield line


def train_sentencepiece(
    input_files,
    model_prefix=None,
    vocab_size=F_NET_VOCABULARY_SIZE,
    model_type="unigram",
    character_coverage=0.9995,
    input_sentence_size=10_000_000,
    verbose=True,
    byte_fallback=True,
):
    """Train a SentencePiece vocabulary with FNet's special tokens.

    Ids: `<pad>` 0, `<unk>` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4; no BOS/EOS;
    with byte fallback, the 256 byte pieces `<0x00>`..`<0xFF>` follow.
    The special tokens are control symbols: the text "[MASK]" is tokenized as
    ordinary characters, never as the mask id.

    Args:
        input_files: list of text file paths, one sentence/paragraph a line.
            Empty lines and lines that are not valid UTF-8 are skipped and
            counted.
        model_prefix: write `<prefix>.model`; if None,
            the serialized model is returned as bytes instead.
        vocab_size: vocabulary size.
        model_type: "unigram" (FNet) or "bpe".
        character_coverage: fraction of characters covered.
        input_sentence_size: at most this many lines are sampled.
        verbose: print the line counts.
        byte_fallback: characters outside the vocabulary become their UTF-8
            bytes instead of `<unk>` (needs `vocab_size` > 261 + the
            characters kept).

    Returns:
        The path of the `.model` file, or its bytes if `model_prefix` is None;
        written whole (a temporary name, then renamed).

    Example:

    >>> path = train_sentencepiece(["corpus.txt"], "/tmp/spm", 8000)  # doctest: +SKIP
    >>> tokenizer = load_tokenizer(path)  # doctest: +SKIP
    """
    missing = [p for p in input_files if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"Tokenizer training files not found: {missing}")
    stats = {"lines": 0, "empty": 0, "invalid_utf8": 0}
    lines = list(_clean_lines(input_files, stats))
    if verbose:
        print(
            f"tokenizer: {stats['lines']} lines used, {stats['empty']} empty "
            f"and {stats['invalid_utf8']} invalid UTF-8 lines skipped",
            file=sys.stderr,
        )
    if not lines:
        raise TokenizerError(f"No usable text lines in {', '.join(input_files)} (every line "
                             "is empty or not UTF-8).")
    return train_sentencepiece_from_texts(
        lines, model_prefix, vocab_size, model_type=model_type,
        character_coverage=character_coverage,
        input_sentence_size=input_sentence_size, verbose=verbose,
        byte_fallback=byte_fallback,
    )


def train_sentencepiece_from_texts(
    texts,
    model_prefix=None,
    vocab_size=F_NET_VOCABULARY_SIZE,
    model_type="unigram",
    character_coverage=0.9995,
    input_sentence_size=10_000_000,
    verbose=False,
    byte_fallback=True,
    hard_vocab_limit=True,
):
    """`train_sentencepiece` on an iterable of strings (see there).

    With `hard_vocab_limit=False`, `vocab_size` is an upper bound (a small
    corpus gives a smaller vocabulary instead of an error).

    Raises:
        TokenizerError: no text that is not blank, or `vocab_size` below the
            minimum these texts need (the message gives the minimum: the
            meta and byte pieces plus one piece per character kept).

    Example:

    >>> proto = train_sentencepiece_from_texts(["a b c"] * 50, None, 300)  # doctest: +SKIP
    """
    import sentencepiece as spm

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise TokenizerError("no text to train a vocabulary on (every text is blank).")
    # SentencePiece skips sentences longer than this (4192 bytes by default) without a word.
    longest = max(len(t.encode("utf-8", "replace")) for t in texts)
    kwargs = dict(
        sentence_iterator=iter(texts),
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        input_sentence_size=input_sentence_size,
        max_sentence_length=max(4192, longest),
        shuffle_input_sentence=True,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=list(SPECIAL_TOKENS[1:]),
        byte_fallback=byte_fallback,
        hard_vocab_limit=hard_vocab_limit,
        minloglevel=0 if verbose else 2,
    )
    writer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(model_writer=writer, **kwargs)
    except RuntimeError as e:
        found = _REQUIRED_CHARS.search(str(e))
        if not found:
            raise TokenizerError(f"cannot train a vocabulary of {vocab_size} pieces: "
                                 f"{str(e).splitlines()[0]}") from None
        minimum = int(found.group(2))
        fixed = META_PIECES + (BYTE_PIECES if byte_fallback else 0)
        raise TokenizerError(
            f"vocabulary size {vocab_size} is below the {minimum} pieces these texts need "
            f"({fixed} special{' and byte' if byte_fallback else ''} pieces + "
            f"{minimum - fixed} characters); use a size of at least {minimum}"
        ) from None
    if model_prefix is None:
        return writer.getvalue()
    directory = os.path.dirname(model_prefix)
    if directory:
        os.makedirs(directory, exist_ok=True)
    path = model_prefix + ".model"
    write_whole(path, writer.getvalue())
    return path


def vocabulary_for(texts, vocabulary, vocab_size, work_dir, filename="vocabulary.spm"):
    """The SentencePiece model a dataset uses: `vocabulary` checked, or one trained.

    Args:
        texts: the training texts, used only when `vocabulary` is None.
        vocabulary: path of a SentencePiece model, or None to train one.
        vocab_size: at most this many pieces in a trained vocabulary (an upper
            bound that a small corpus stays below).
        work_dir: where a trained vocabulary is written (whole), as `filename`.
        filename: name of the trained vocabulary file.

    Returns:
        The path of the vocabulary.

    Raises:
        FileNotFoundError: `vocabulary` does not exist.
        TokenizerError: `vocabulary` is not a SentencePiece model, or none can be
            trained on `texts` at `vocab_size` (the message says why).

    Example:

    >>> vocabulary_for(["a b c"] * 50, None, 300, "run")  # doctest: +SKIP
    'run/vocabulary.spm'
    """
    if vocabulary is not None:
        if not os.path.isfile(vocabulary):
            raise FileNotFoundError(f"{vocabulary}: vocabulary file not found.")
        with open(vocabulary, "rb") as f:
            check_proto(f.read(), vocabulary)
        return vocabulary
    proto = train_sentencepiece_from_texts(texts, None, vocab_size, hard_vocab_limit=False)
    os.makedirs(work_dir, exist_ok=True)
    path = os.path.join(work_dir, filename)
    write_whole(path, proto)
    return path


def write_whole(path, data):
    """Write bytes to `path` whole (`keras_fnet.fileio.write_file`)."""
    fileio.write_file(path, data)


def load_tokenizer(proto, sequence_length=None):
    """Load a SentencePiece vocabulary as a `keras_fnet.preprocessing.Tokenizer`.

    Args:
        proto: path to a `.model` file or its serialized bytes (e.g. the
            `vocabulary.spm` of keras-hub's `f_net_base_en` preset, or the
            output of `train_sentencepiece`).
        sequence_length: optional fixed output length (dense, padded).

    Returns:
        `keras_fnet.preprocessing.Tokenizer` (a keras-hub `FNetTokenizer`).

    Example:

    >>> tok = load_tokenizer(mock_vocabulary())
    >>> tok.token_to_id("[CLS]")
    2
    """
    from keras_fnet.preprocessing.tokenizer import Tokenizer

    if isinstance(proto, str) and not os.path.exists(proto):
        raise FileNotFoundError(
            f"SentencePiece model {proto} not found. Use the vocabulary.spm of "
            f"the f_net_base_en preset (keras-hub / Kaggle "
            f"keras/f_net/keras/f_net_base_en) or train one with `python -m "
            f"keras_fnet.data.tokenizer --input corpus.txt --model-prefix "
            f"vocab/spm`."
        )
    try:
        return Tokenizer(proto=proto, sequence_length=sequence_length)
    except TokenizerError:
        raise
    except ValueError as e:
        source = proto if isinstance(proto, str) else "the vocabulary"
        raise TokenizerError(
            f"{source}: {' '.join(str(e).split())} The vocabulary must contain FNet's special "
            f"tokens {SPECIAL_TOKENS}; train one with `python -m keras_fnet.data.tokenizer`."
        ) from None


def special_ids(tokenizer):
    """dict with the ids of pad, cls, sep and mask of an `FNetTokenizer`."""
    return {
        "pad": tokenizer.pad_token_id,
        "cls": tokenizer.cls_token_id,
        "sep": tokenizer.sep_token_id,
        "mask": tokenizer.mask_token_id,
    }


def _mock_corpus(num_lines=2000, seed=0):
    import random

    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                     for _ in range(rng.randint(1, 8))) for _ in range(1000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(3, 20)))
            for _ in range(num_lines)]


@functools.cache
def mock_vocabulary(vocab_size=512):
    """A small SentencePiece model (bytes) trained on generated text.

    Used by `mock=True` pipelines and tests, where no real vocabulary can be
    downloaded. Trained once per process (about a second).
    """
    import sentencepiece as spm

    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_mock_corpus()),
        model_writer=writer,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=list(SPECIAL_TOKENS[1:]),
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return writer.getvalue()


def byte_ids(text):
    """Byte-level ids of a scalar string tensor: byte value + `VALUE_OFFSET`.

    Any byte string works (invalid UTF-8 included), so nothing is dropped.

    Example:

    >>> byte_ids(tf.constant("hi")).numpy().tolist()  # doctest: +SKIP
    [107, 108]
    """
    import tensorflow as tf

    from keras_fnet.data import base

    raw = tf.io.decode_raw(text, tf.uint8)
    return tf.cast(raw, tf.int32) + base.VALUE_OFFSET


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m keras_fnet.data.tokenizer",
        description="Train a SentencePiece vocabulary with FNet's special "
        "tokens (<pad>, [CLS], [SEP], [MASK]) from text files.",
    )
    p.add_argument("--input", nargs="+", required=True,
                   help="text files, one sentence or paragraph per line")
    p.add_argument("--model-prefix", required=True,
                   help="writes <prefix>.model")
    p.add_argument("--vocab-size", type=int, default=F_NET_VOCABULARY_SIZE)
    p.add_argument("--model-type", default="unigram",
                   choices=["unigram", "bpe"])
    p.add_argument("--character-coverage", type=float, default=0.9995)
    args = p.parse_args(argv)
    path = train_sentencepiece(args.input, args.model_prefix, args.vocab_size,
                               args.model_type, args.character_coverage)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
