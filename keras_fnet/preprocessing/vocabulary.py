"""A SentencePiece vocabulary checked before use: `check_proto` and `TokenizerError`.

Needs only `sentencepiece` (no TensorFlow): the tokenizer layer checks its
vocabulary with it, and so do the data pipelines that train or read one
(`keras_fnet.data.tokenizer`).
"""


class TokenizerError(ValueError):
    """A vocabulary that cannot be trained or read; the message names the input and the fix."""


def check_proto(proto, source="the vocabulary"):
    """Raise `TokenizerError` naming `source` unless `proto` (bytes) is a SentencePiece model.

    Example:

    >>> check_proto(b"not a model", "vocab.spm")
    Traceback (most recent call last):
    ...
    keras_fnet.preprocessing.vocabulary.TokenizerError: vocab.spm: not a SentencePiece \
model (11 bytes that do not parse); pass the .model file that SentencePiece training wrote.
    """
    import sentencepiece as spm

    try:
        if not proto:
            raise RuntimeError("empty")
        spm.SentencePieceProcessor(model_proto=proto)
    except (RuntimeError, OSError, TypeError):
        raise TokenizerError(
            f"{source}: not a SentencePiece model ({len(proto or b'')} bytes that do not "
            "parse); pass the .model file that SentencePiece training wrote.") from None
