"""Griffe extension for the API pages: docstring examples (`>>>` blocks) as code.

The docstrings follow Keras's style, an `Example:` paragraph followed by
doctest lines that `pytest --doctest-modules` runs. Markdown would read `>>>`
as nested quotes, so each doctest block (from its first `>>>` line to the next
blank line) becomes a fenced `pycon` block, without its `# doctest:` flags.
"""

import re

import griffe

FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def fence(text):
    """`text` with every doctest block fenced as `pycon`."""
    out, block, indent = [], [], ""
    for line in text.splitlines() + [""]:
        stripped = line.lstrip()
        if not block and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
        if stripped.startswith(">>>") or (block and stripped):
            block.append(FLAGS.sub("", line[len(indent):]))
            continue
        if block:
            out += [f"{indent}```pycon"] + [indent + b for b in block] + [f"{indent}```"]
            block = []
        out.append(line)
    return "\n".join(out[:-1])


class DoctestBlocks(griffe.Extension):
    """Fence the doctest examples of every docstring that griffe loads."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = fence(obj.docstring.value)
