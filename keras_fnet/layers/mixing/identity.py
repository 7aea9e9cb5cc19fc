"""No mixing: the paper's FF-only baseline."""

import numpy as np  # noqa: F401 (the example uses it)

from keras_fnet.layers.base import MixingLayer, register_mixing


@register_mixing("identity")
class IdentityMixing(MixingLayer):
    """No mixing at all: returns its input (the paper's FF-only baseline).

    Example:

    >>> x = np.ones((1, 3, 2), "float32")
    >>> np.array_equal(IdentityMixing()(x), x)
    True
    """

    def call(self, inputs, padding_mask=None):
        return inputs
