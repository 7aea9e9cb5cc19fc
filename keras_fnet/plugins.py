"""Families from outside the package, in every process: the plugin modules.

`register_mixing` and `register_family` fill registries of the process that runs
them. A fresh process (the training command, the benchmark workers, a
`keras.saving.load_model` in a new interpreter) knows a family from outside the
package only if it imports the module that registers it. `import keras_fnet`
imports these plugin modules, once, after the zoo's own families:

- the modules named in the environment variable `KERAS_FNET_PLUGINS`
  (comma-separated module names, e.g. `my_zoo.mean_family,my_zoo.other`);
- the modules advertised by installed distributions under the entry-point
  group `keras_fnet.families`, e.g. in the plugin's `pyproject.toml`:

      [project.entry-points."keras_fnet.families"]
      mean = "my_zoo.mean_family"

A plugin that fails to import stops `import keras_fnet` with an `ImportError`
that names the module and where it was named.

Example:

>>> import os
>>> os.environ["KERAS_FNET_PLUGINS"] = "json, json"  # Any importable module.
>>> [module for module, _ in plugin_modules() if module == "json"]
['json']
>>> "json" in load_plugins()
True
>>> del os.environ["KERAS_FNET_PLUGINS"]
"""

import importlib
import os
from importlib import metadata

ENVIRONMENT_VARIABLE = "KERAS_FNET_PLUGINS"
ENTRY_POINT_GROUP = "keras_fnet.families"


def plugin_modules():
    """The plugin modules to import, in order, each once.

    Returns:
        A list of `(module name, where it is named)`: the names of
        `KERAS_FNET_PLUGINS` first, then the entry points of the group
        `keras_fnet.families` (their value is the module; an attribute after
        `:` is ignored).
    """
    found = {}
    for name in os.environ.get(ENVIRONMENT_VARIABLE, "").split(","):
        if name.strip():
            found.setdefault(name.strip(), f"the environment variable {ENVIRONMENT_VARIABLE}")
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = getattr(entry_point.dist, "name", None)
        where = (f"the entry point {entry_point.name!r} of the group {ENTRY_POINT_GROUP!r}"
                 + (f" (distribution {distribution})" if distribution else ""))
        found.setdefault(entry_point.module, where)
    return list(found.items())


def load_plugins():
    """Import every plugin module (`plugin_modules()`); `import keras_fnet` calls it.

    A module already imported is not run again, so calling this twice registers
    nothing twice.

    Returns:
        The names of the plugin modules, in the order they were imported.

    Raises:
        ImportError: a plugin module is missing or raised while it ran; the
            message names the module and the variable or entry point that named it.
    """
    names = []
    for name, where in plugin_modules():
        try:
            importlib.import_module(name)
        except Exception as e:
            raise ImportError(
                f"keras_fnet could not import the plugin module {name!r}, named in {where}: "
                f"{type(e).__name__}: {e}"
            ) from e
        names.append(name)
    return names
