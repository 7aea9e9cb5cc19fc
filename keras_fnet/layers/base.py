"""The one interface every token-mixing sublayer implements."""

import keras


class MixingLayer(keras.layers.Layer):
    """Base of token-mixing sublayers: `call(x, padding_mask=None) -> same shape`.

    `x` is `[batch, sequence, hidden]` (any leading axes for the fixed
    transforms); `padding_mask` is `[batch, sequence]`, true/1 at real tokens.
    Layers that cannot use the mask (the fixed transforms, as in the paper)
    ignore it. Subclasses implement `call`, and `build` when they own weights.
    """

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape [..., sequence, "
                f"hidden], got shape {tuple(input_shape)}."
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
