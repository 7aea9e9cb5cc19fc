"""The former name of `keras_fnet.devices` (`device_kind`), kept while modules still import it."""

from keras_fnet.devices import device_kind  # noqa: F401
