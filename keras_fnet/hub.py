"""Pretrained models by name or hub handle, resolved to a local directory.

`keras_fnet.from_preset` (and `Encoder/Classifier/Pretrainer.from_preset`,
training's `--init-from`) take, besides a local directory:

* a name of `PRETRAINED` (`list_presets()`; `python -m keras_fnet.hub list`
  prints the cards), e.g. `"f_net_base_en"` or `"fnet_base"`: each stands for
  one of the handles below, pinned to a version;
* `hf://OWNER/REPO[@REVISION]`: a Hugging Face repository (a transformers FNet
  or BERT, or a keras-fnet or keras-hub preset uploaded there), downloaded with
  `huggingface_hub` into its cache (`HF_HUB_CACHE`, `HF_HOME`);
* `kaggle://OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION]`: a Kaggle model, such
  as keras-hub's FNet and BERT presets, downloaded with `kagglehub` into its
  cache (`KAGGLEHUB_CACHE`); without a version, the latest.

The directory is then read as any other preset (converted on the fly when
it is a transformers or keras-hub checkpoint), with its SentencePiece
vocabulary when it has one.

Offline (`HF_HUB_OFFLINE=1` or `KERAS_FNET_OFFLINE=1`), nothing is asked of
the network: a cached handle loads, a handle that is not cached raises
`HubError` at once, naming the handle and the command that fetches it
(`python -m keras_fnet.hub download NAME_OR_HANDLE`, run once online).
The clients come with the `hub` extra (`pip install "keras-fnet[hub]"`).

Example:

>>> sorted(list_presets())[:2]
['bert_base_en_uncased', 'bert_base_uncased']
>>> PRETRAINED["fnet_base"].handle
'hf://google/fnet-base'
>>> resolve("f_net_base_en")  # doctest: +SKIP
'/root/.cache/kagglehub/models/keras/f_net/keras/f_net_base_en/3'
"""

import argparse
import dataclasses
import importlib
import os
import sys

HF_SCHEME = "hf://"
KAGGLE_SCHEME = "kaggle://"
OFFLINE_VARIABLES = ("KERAS_FNET_OFFLINE", "HF_HUB_OFFLINE")
# The files of a repository that a preset or a checkpoint needs (a repository may
# hold other formats too: TF/Flax weights, ONNX, ...; those are not downloaded).
HF_FILES = (
    "config.json", "model.safetensors", "pytorch_model.bin", "spiece.model", "vocab.txt",
    "metadata.json", "model.weights.h5", "task.json", "task.weights.h5", "tokenizer.json",
    "preprocessor.json", "assets/*",
)


class HubError(ValueError):
    """A name or handle that cannot be resolved (unknown, malformed, not cached offline)."""


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """One named pretrained model: where it comes from and what it is.

    Args:
        name: the name `from_preset` takes.
        handle: the `hf://` or `kaggle://` handle it resolves to (pinned).
        family: the zoo family it loads as (`fnet` or `bert`).
        parameters: the encoder's parameter count (the source's own count).
        description: one line: size and training data.
        licence: the licence the source publishes the weights under.
        paper: what the FNet paper reports for this model, or why it is not in it.
    """

    name: str
    handle: str
    family: str
    parameters: int
    description: str
    licence: str
    paper: str

    def card(self):
        """The card as a few lines of text."""
        return "\n".join([
            f"{self.name}  ({self.family}, {self.parameters:,} parameters)",
            f"  source:  {self.handle}",
            f"  about:   {self.description}",
            f"  licence: {self.licence}",
            f"  paper:   {self.paper}",
        ])


_FNET_BASE = ("12 layers, hidden 768, 32k SentencePiece vocabulary, pretrained by the FNet "
              "authors on C4 (MLM + NSP)")
_FNET_LARGE = ("24 layers, hidden 1024, 32k SentencePiece vocabulary, pretrained by the FNet "
               "authors on C4 (MLM + NSP)")
_FNET_PAPER = ("FNet reaches 92-97% of BERT's GLUE accuracy at Base and Large size; "
               "pretraining accuracy of FNet-Base: MLM 0.58, NSP 0.80")
_BERT_PAPER = "the paper's BERT-Base reference (MLM 0.68)"

PRETRAINED = {p.name: p for p in [
    Pretrained("f_net_base_en", "kaggle://keras/f_net/keras/f_net_base_en/3", "fnet",
               82_861_056, _FNET_BASE + "; keras-hub's conversion", "Apache 2.0", _FNET_PAPER),
    Pretrained("f_net_large_en", "kaggle://keras/f_net/keras/f_net_large_en/3", "fnet",
               236_945_408, _FNET_LARGE + "; keras-hub's conversion", "Apache 2.0",
               _FNET_PAPER),
    Pretrained("fnet_base", "hf://google/fnet-base", "fnet", 82_861_056,
               _FNET_BASE + "; transformers' conversion", "Apache 2.0", _FNET_PAPER),
    Pretrained("fnet_large", "hf://google/fnet-large", "fnet", 236_945_408,
               _FNET_LARGE + "; transformers' conversion", "Apache 2.0", _FNET_PAPER),
    Pretrained("bert_tiny_en_uncased", "kaggle://keras/bert/keras/bert_tiny_en_uncased/3",
               "bert", 4_385_920, "2 layers, hidden 128, 2 heads, uncased WordPiece; Google's "
               "small BERT release, keras-hub's conversion", "Apache 2.0",
               "not in the paper: a small BERT for quick trials"),
    Pretrained("bert_base_en_uncased", "kaggle://keras/bert/keras/bert_base_en_uncased/3",
               "bert", 109_482_240, "12 layers, hidden 768, 12 heads, uncased WordPiece; "
               "Google's BERT-Base, keras-hub's conversion", "Apache 2.0", _BERT_PAPER),
    Pretrained("bert_base_uncased", "hf://google-bert/bert-base-uncased", "bert", 109_482_240,
               "12 layers, hidden 768, 12 heads, uncased WordPiece; Google's BERT-Base, "
               "transformers' conversion", "Apache 2.0", _BERT_PAPER),
]}
# The Hugging Face repository names, as people write them, for the same entries.
ALIASES = {"google/fnet-base": "fnet_base", "google/fnet-large": "fnet_large",
           "google-bert/bert-base-uncased": "bert_base_uncased"}


def list_presets(family=None):
    """The named pretrained models, `{name: Pretrained}`.

    Args:
        family: only those of this zoo family (`"fnet"`, `"bert"`).

    Example:

    >>> [p.handle for p in list_presets("fnet").values()][:1]
    ['kaggle://keras/f_net/keras/f_net_base_en/3']
    """
    return {name: p for name, p in PRETRAINED.items() if family in (None, p.family)}


def is_remote(preset):
    """Whether `preset` is a hub handle or a name (not a local path that exists)."""
    preset = os.fspath(preset)
    if os.path.exists(preset):
        return False
    return (preset.startswith((HF_SCHEME, KAGGLE_SCHEME)) or preset in PRETRAINED
            or preset in ALIASES)


def offline():
    """Whether the network may not be used (`KERAS_FNET_OFFLINE` or `HF_HUB_OFFLINE` set)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in OFFLINE_VARIABLES)


def resolve(preset):
    """The local directory of a preset name, handle or path (downloading when needed).

    Args:
        preset: a local directory or file (returned as is), a name of
            `PRETRAINED` (or `ALIASES`), an `hf://` or a `kaggle://` handle.

    Returns:
        The path of the local directory (in the client's cache for a handle).

    Raises:
        HubError: an unknown name, a malformed handle, a missing client, a
            download that fails, or, offline, a handle that is not cached.
    """
    preset = os.fspath(preset)
    if os.path.exists(preset):
        return preset
    name = ALIASES.get(preset, preset)
    if name in PRETRAINED:
        return _download(PRETRAINED[name].handle, name)
    if preset.startswith((HF_SCHEME, KAGGLE_SCHEME)):
        return _download(preset, preset)
    names = ", ".join(sorted(PRETRAINED))
    raise HubError(f"Preset {preset!r} is not a directory (no such path), nor a known name "
                   f"({names}), nor an hf:// or kaggle:// handle.")


def _download(handle, asked):
    if handle.startswith(HF_SCHEME):
        return _from_hugging_face(handle, asked)
    return _from_kaggle(handle, asked)


def _client(module, handle):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise HubError(f"{handle} needs {module}: pip install \"keras-fnet[hub]\".") from None


def _fetch_hint(asked):
    return (f"fetch it once while online (python -m keras_fnet.hub download {asked}) or "
            "unset HF_HUB_OFFLINE / KERAS_FNET_OFFLINE")


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _hf_repo(handle):
    repo, _, revision = handle[len(HF_SCHEME):].partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise HubError(f"{handle!r}: expected hf://OWNER/REPO[@REVISION].")
    return repo, revision or None


def _from_hugging_face(handle, asked):
    repo, revision = _hf_repo(handle)
    hub = _client("huggingface_hub", handle)
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return hub.snapshot_download(repo, revision=revision, allow_patterns=list(HF_FILES),
                                     local_files_only=offline())
    except LocalEntryNotFoundError:
        raise HubError(f"{handle} is not in the Hugging Face cache and the hub cannot be "
                       f"reached: {_fetch_hint(asked)}.") from None
    except Exception as error:  # the client raises many kinds (HTTP, auth, not found)
        raise HubError(f"{handle}: download failed ({_first_line(error)}).") from None


def _kaggle_parts(handle):
    parts = handle[len(KAGGLE_SCHEME):].split("/")
    if len(parts) not in (4, 5) or not all(parts) or (len(parts) == 5 and not parts[4].isdigit()):
        raise HubError(f"{handle!r}: expected kaggle://OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION]"
                       " (VERSION a number).")
    return parts


def kaggle_cached(handle):
    """The cached directory of a `kaggle://` handle, or None (no network).

    kagglehub keeps version V of a model in
    `$KAGGLEHUB_CACHE/models/OWNER/MODEL/FRAMEWORK/VARIATION/V/` and marks it
    complete with the file `.../VARIATION/V.complete`; without a version, the
    highest complete one is taken.
    """
    parts = _kaggle_parts(handle)
    try:
        from kagglehub.config import get_cache_folder
        root = get_cache_folder()
    except ImportError:  # the same default, when kagglehub is not installed
        root = os.environ.get("KAGGLEHUB_CACHE") or os.path.join(
            os.path.expanduser("~"), ".cache", "kagglehub")
    variation = os.path.join(root, "models", *parts[:4])
    if len(parts) == 5:
        versions = [parts[4]]
    else:
        names = os.listdir(variation) if os.path.isdir(variation) else []
        versions = sorted((n for n in names if n.isdigit()), key=int, reverse=True)
    for version in versions:
        folder = os.path.join(variation, version)
        if os.path.isdir(folder) and os.path.exists(folder + ".complete"):
            return folder
    return None


def _from_kaggle(handle, asked):
    parts = _kaggle_parts(handle)
    if offline():
        cached = kaggle_cached(handle)
        if cached is None:
            raise HubError(f"{handle} is not in the kagglehub cache and the network may not be "
                           f"used: {_fetch_hint(asked)}.")
        return cached
    kagglehub = _client("kagglehub", handle)
    try:
        return kagglehub.model_download("/".join(parts))
    except Exception as error:  # the client raises many kinds (HTTP, auth, not found)
        raise HubError(f"{handle}: download failed ({_first_line(error)}).") from None


def main(argv=None):
    """`python -m keras_fnet.hub list | download NAME_OR_HANDLE...`."""
    parser = argparse.ArgumentParser(prog="python -m keras_fnet.hub",
                                     description="Named pretrained models and hub handles.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the cards of the named models")
    listing.add_argument("--family", choices=sorted({p.family for p in PRETRAINED.values()}))
    download = commands.add_parser("download", help="fetch into the clients' caches")
    download.add_argument("presets", nargs="+", metavar="NAME_OR_HANDLE")
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n\n".join(p.card() for p in list_presets(args.family).values()))
        return 0
    for preset in args.presets:
        try:
            print(f"{preset}: {resolve(preset)}")
        except HubError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
