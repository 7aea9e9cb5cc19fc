"""A family from outside the package, written as a user's own module would be.

Importing it registers the mixing `ext_mean` and the family `ext_mean` (presets
`ext_mean_tiny` ... `ext_mean_large`). `tests/test_external_family.py` imports
it in its own process and names it in `KERAS_FNET_PLUGINS` for fresh ones; it is
not imported anywhere else, so the other tests never see the family.
"""

from keras import ops

from keras_fnet.config import register_family
from keras_fnet.layers import MixingLayer, MixingOption, register_mixing

NAME = "ext_mean"
SCALE = 2  # The family's value of the option (its default is 1).


@register_mixing(NAME, options={
    "ext_mean_scale": MixingOption("scale", 1, help="factor of the mean")})
class ExternalMeanMixing(MixingLayer):
    """Every position gets `scale` times the mean over the real tokens.

    Args:
        scale: a positive integer factor of the mean.
        **kwargs: standard layer arguments (`name`, `dtype`).

    Example:

    >>> import numpy as np
    >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
    >>> y = ExternalMeanMixing()(x, padding_mask=np.array([[1, 1, 0]]))
    >>> ops.convert_to_numpy(y).tolist()
    [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, scale=1, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs, padding_mask=None):
        if padding_mask is None:
            mean = ops.mean(inputs, axis=-2, keepdims=True)
        else:
            mask = ops.expand_dims(ops.cast(padding_mask, inputs.dtype), -1)
            count = ops.maximum(ops.sum(mask, axis=-2, keepdims=True), 1.0)
            mean = ops.sum(inputs * mask, axis=-2, keepdims=True) / count
        return ops.zeros_like(inputs) + self.scale * mean

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


register_family(NAME, mixing=NAME, ext_mean_scale=SCALE)
