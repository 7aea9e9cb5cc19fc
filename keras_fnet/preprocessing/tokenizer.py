"""`Tokenizer`: FNet's SentencePiece tokenizer as a Keras layer.

A keras-hub `FNetTokenizer` (SentencePiece through tensorflow-text) that
always runs the TensorFlow op, in eager calls as in `tf.data` and
`tf.function`. keras-hub runs eager calls through the `sentencepiece` Python
package instead, and the two implementations break ties between equal-score
segmentations differently: "www" is `w|ww` in one and `ww|w` in the other,
"777" likewise (`tests/preprocessing/test_tokenizer.py` shows both). One
implementation everywhere means one text gives one sequence of ids wherever it
is tokenized, so the preprocessor attached to a model matches the pipeline it
was trained with.

Invalid UTF-8 is replaced (U+FFFD) before tokenizing, so no input makes the
op fail half-way through a dataset. A vocabulary is checked when it is set:
a file that is not a SentencePiece model raises `TokenizerError` naming it.

The vocabulary: `tokenizer.proto` holds the SentencePiece model bytes;
`tokenizer.save_assets(dir)` writes them whole to `dir/vocabulary.spm`
(keras-hub's preset layout: `assets/tokenizer/vocabulary.spm`), and
`tokenizer.load_assets(dir)` reads them back. A `.keras` file holds the same
file among its assets.

This module imports TensorFlow and keras-hub (preprocessing runs in tf.data).
"""

import os

import keras
import keras_hub
import tensorflow as tf

from keras_fnet import fileio, keras_compat
from keras_fnet.preprocessing.vocabulary import check_proto

VOCABULARY_FILENAME = "vocabulary.spm"


@keras.saving.register_keras_serializable(package="keras_fnet")
class Tokenizer(keras_compat.SentencePieceOp, keras_hub.tokenizers.FNetTokenizer):
    """SentencePiece tokenizer with FNet's special tokens, saved as an asset.

    Ids of the vocabularies trained here (`keras_fnet.data.tokenizer`):
    `<pad>` 0, `<unk>` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4; other vocabularies
    (e.g. keras-hub's `f_net_base_en`) keep their own ids, read from the
    model (`pad_token_id`, `cls_token_id`, `sep_token_id`, `mask_token_id`).

    Args:
        proto: path of a SentencePiece `.model` / `vocabulary.spm` file, or
            its bytes.
        sequence_length: optional fixed output length (dense, padded).
        **kwargs: `name`, `dtype` (output dtype, default "int32").

    Example:

    >>> from keras_fnet.data.tokenizer import mock_vocabulary
    >>> tokenizer = Tokenizer(mock_vocabulary())
    >>> len(tokenizer(["hello world"]))
    1
    >>> tokenizer.token_to_id("[MASK]"), len(tokenizer.proto) > 0
    (4, True)
    """

    def __init__(self, proto=None, sequence_length=None, **kwargs):
        super().__init__(proto=proto, sequence_length=sequence_length,
                         **keras_compat.graph_only(kwargs))

    def set_proto(self, proto):
        # The file name, for the error of a vocabulary that does not parse.
        self._proto_source = proto if isinstance(proto, str) and len(proto) <= 2048 else None
        super().set_proto(proto)

    def check_proto(self, proto):
        """Check the model bytes before tensorflow-text sees them (its error is an opaque
        `InternalError`): `TokenizerError` names the file."""
        check_proto(proto, getattr(self, "_proto_source", None) or "the vocabulary")

    def tokenize(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        inputs = tf.strings.unicode_transcode(inputs, "UTF-8", "UTF-8", errors="replace")
        if not tf.executing_eagerly():
            # Tracing (tf.data, tf.function): make the SentencePiece op in the
            # traced graph, so the function holds no resource of the eager
            # context, which `tf.random.set_seed` clears.
            eager_op = self.sentence_piece_op()
            self.remake_sentence_piece_op()
            try:
                return super().tokenize(inputs)
            finally:
                self.set_sentence_piece_op(eager_op)
        try:
            return super().tokenize(inputs)
        except tf.errors.NotFoundError:
            # `tf.random.set_seed` (`keras.utils.set_random_seed`) clears the
            # eager kernel cache and with it the SentencePiece op's resource;
            # make the op again.
            self.remake_sentence_piece_op()
            return super().tokenize(inputs)

    def save_assets(self, dir_path):
        """Write the vocabulary whole to `dir_path/vocabulary.spm`."""
        fileio.write_file(os.path.join(dir_path, VOCABULARY_FILENAME), self.proto)
