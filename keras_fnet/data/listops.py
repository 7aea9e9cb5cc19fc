"""ListOps (Long Range Arena): generator, TSV files and `tf.data` pipeline.

The generator follows the algorithm of LRA's `lra_benchmarks/data/listops.py`
(itself from Nangia & Bowman, 2018): a random tree whose inner nodes are one
of the operators MIN, MAX, MED (integer median, rounded down) and SM (sum
modulo 10) with 2..`max_args` arguments, and whose leaves are digits 0..9; an
operator becomes a leaf with probability 0.75 at each level, and every node
at `max_depth` is a leaf. The "length" of a tree counts one per digit and two
per operator (the operator and its closing `]`). Trees are drawn until
`min_length <= length <= max_length` (LRA uses strict bounds) and duplicates
are dropped. Two exact shortcuts make it fast without changing the
distribution of accepted trees: the root is always an operator (a single
digit is never accepted) and a tree is abandoned as soon as it grows past
`max_length`.

Sources are written in LRA's release format, e.g.
`( ( ( [MAX 2 ) 9 ) ] )` for `[MAX 2 9 ]`, in a TSV with header
`Source\\tTarget`.

Tokenization: whitespace tokens over a fixed vocabulary (pad id 0, `[CLS]` id
1 at position 0, digits, operators, `]`). The parentheses carry no
information and are dropped by default (`keep_parentheses=False`), so the
model sequence length equals the tree length plus one (`[CLS]`). (LRA's own
loader used an alphanumeric tokenizer that also dropped `]`.)

This module uses TensorFlow for the pipeline; the generator is pure Python.

Command line:

    python -m keras_fnet.data.listops --num-examples 10000 \\
        --min-length 100 --max-length 511 --seed 0 --output train.tsv

Settings that no tree can meet are refused before any work (`--max-depth 1
--min-length 500`: a depth-1 tree has at most `2 + max_args` tokens), and a
length range that trees meet too rarely stops after `MAX_DRAWS` draws with
an error, instead of running forever.
"""

import csv
import os
import random
import sys
import time

import numpy as np

from keras_fnet import fileio

MIN = "[MIN"
MAX = "[MAX"
MED = "[MED"
SUM_MOD = "[SM"
END = "]"
OPERATORS = (MIN, MAX, MED, SUM_MOD)
VALUE_PROBABILITY = 0.75  # LRA: a node is an operator iff random() <= 0.25
NUM_CLASSES = 10

# Fixed vocabulary. Unknown tokens map to [UNK].
VOCABULARY = (
    "<pad>", "[CLS]", "[UNK]", "(", ")", END, *OPERATORS,
    *[str(d) for d in range(10)],
)
PAD_ID = 0
CLS_ID = 1
UNK_ID = 2
VOCABULARY_SIZE = len(VOCABULARY)

LRA_SPLIT_SIZES = {"train": 96000, "validation": 2000, "test": 2000}
# Draws of one example before giving up (LRA's 500..2000 needs ~3 a tree).
MAX_DRAWS = 20000


class _TooLong(Exception):
    pass


def _apply(op, args):
    if op == MIN:
        return min(args)
    if op == MAX:
        return max(args)
    if op == MED:
        return int(np.floor(np.median(args)))
    return sum(args) % 10  # SUM_MOD


def _operator_node(rng, depth, max_depth, max_args, budget, out):
    """Append the tokens of an operator node; return (value, length)."""
    op = rng.choice(OPERATORS)
    num_args = rng.randint(2, max_args)
    # Same bracketing as LRA's to_string: n + 1 opening parentheses.
    out.extend(["("] * (num_args + 1))
    out.append(op)
    length = 2
    values = []
    for _ in range(num_args):
        value, sub = _node(rng, depth + 1, max_depth, max_args,
                           budget - length, out)
        length += sub
        if length > budget:
            raise _TooLong()
        values.append(value)
        out.append(")")
    out.extend([END, ")"])
    return _apply(op, values), length


def _node(rng, depth, max_depth, max_args, budget, out):
    if depth < max_depth and rng.random() > VALUE_PROBABILITY:
        return _operator_node(rng, depth, max_depth, max_args, budget, out)
    value = rng.choice(range(10))
    out.append(str(value))
    return value, 1


def longest_tree(max_depth, max_args, cap=None):
    """The longest tree length that `max_depth` and `max_args` allow.

    The root (depth 1) is always an operator; a node at a depth below
    `max_depth` may be an operator with up to `max_args` arguments; nodes at
    `max_depth` or deeper are digits.

    Args:
        max_depth: maximum tree depth.
        max_args: maximum arguments per operator.
        cap: stop growing once the length passes `cap` (None: exact).

    Example:

    >>> longest_tree(1, 10), longest_tree(2, 2), longest_tree(3, 2)
    (12, 4, 10)
    """
    length = 1  # a digit
    for _ in range(max_depth - 2):  # operator levels between root and digits
        length = 2 + max_args * length
        if cap is not None and length > cap:
            break
    return 2 + max_args * length


def check_settings(min_length, max_length, max_depth, max_args, flags=False):
    """Raise `ValueError` for generator settings that no tree can meet.

    Args:
        min_length, max_length, max_depth, max_args: as `generate`.
        flags: name the command-line flags (`--max-depth`) in the message
            instead of the arguments (`max_depth`).
    """
    name = {key: (f"--{key.replace('_', '-')}" if flags else key) for key in
            ("min_length", "max_length", "max_depth", "max_args")}
    problems = [
        (max_depth < 1, f"{name['max_depth']} must be >= 1, got {max_depth}"),
        (max_args < 2, f"{name['max_args']} must be >= 2 (an operator takes 2 "
                       f"or more arguments), got {max_args}"),
        (max_length < 4, f"{name['max_length']} must be >= 4 (the shortest "
                         f"tree, [OP d d ], has length 4), got {max_length}"),
        (min_length > max_length, f"{name['min_length']} {min_length} is "
                                  f"greater than {name['max_length']} {max_length}"),
    ]
    for bad, message in problems:
        if bad:
            raise ValueError(message)
    longest = longest_tree(max_depth, max_args, cap=min_length)
    if longest < min_length:
        raise ValueError(
            f"{name['min_length']} {min_length} is longer than any tree with "
            f"{name['max_depth']} {max_depth} and {name['max_args']} {max_args} "
            f"(at most {longest})"
        )


def generate_example(rng, min_length, max_length, max_depth=10, max_args=10,
                     max_draws=MAX_DRAWS):
    """Draw one ListOps example with `min_length <= length <= max_length`.

    Args:
        rng: a `random.Random`.
        min_length: minimum tree length (digits + 2 per operator).
        max_length: maximum tree length, >= 4.
        max_depth: maximum tree depth (LRA: 10), >= 1.
        max_args: maximum number of arguments per operator (LRA: 10), >= 2.
        max_draws: trees drawn before giving up.

    Returns:
        `(source, target, length)`: the LRA-format string, the value 0..9 and
        the tree length.

    Raises:
        ValueError: settings that no tree meets (see `check_settings`).
        RuntimeError: no tree in the range after `max_draws` draws.
    """
    check_settings(min_length, max_length, max_depth, max_args)
    for _ in range(max_draws):
        out = []
        try:
            value, length = _operator_node(
                rng, 1, max_depth, max_args, max_length, out
            )
        except _TooLong:
            continue
        if length >= min_length:
            return " ".join(out), value, length
    raise RuntimeError(
        f"No ListOps tree of length {min_length}..{max_length} in {max_draws} "
        f"draws with max_depth={max_depth}, max_args={max_args}; widen the "
        "length range or allow deeper/wider trees."
    )


def generate(num_examples, min_length=500, max_length=2000, seed=0,
             max_depth=10, max_args=10, verbose=False):
    """Generate `num_examples` distinct ListOps examples, deterministically.

    Args:
        num_examples: number of distinct examples.
        min_length: minimum tree length (inclusive).
        max_length: maximum tree length (inclusive).
        seed: random seed; the same seed gives the same examples.
        max_depth: maximum tree depth.
        max_args: maximum arguments per operator.
        verbose: print progress every 1000 examples.

    Returns:
        list of `(source, target)` pairs.

    Example:

    >>> rows = generate(3, min_length=10, max_length=40, seed=1)
    >>> len(rows), rows[0][1] in range(10)
    (3, True)
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    check_settings(min_length, max_length, max_depth, max_args)
    rng = random.Random(seed)
    seen = set()
    rows = []
    start = time.time()
    attempts = 0
    while len(rows) < num_examples:
        source, target, _ = generate_example(
            rng, min_length, max_length, max_depth, max_args
        )
        attempts += 1
        if source in seen:
            if attempts > 100 * num_examples + 1000:
                raise RuntimeError(
                    f"Only {len(rows)} distinct ListOps trees found for "
                    f"length range [{min_length}, {max_length}]; widen it."
                )
            continue
        seen.add(source)
        rows.append((source, target))
        if verbose and len(rows) % 1000 == 0:
            print(f"listops: {len(rows)}/{num_examples} examples "
                  f"({time.time() - start:.1f}s)", file=sys.stderr)
    return rows


def evaluate(source):
    """Evaluate an LRA-format source string (used to check files)."""
    stack = []
    for token in source.split():
        if token in OPERATORS:
            stack.append([token])
        elif token == END:
            args = stack.pop()
            value = _apply(args[0], args[1:])
            if not stack:
                return value
            stack[-1].append(value)
        elif token not in ("(", ")"):
            stack[-1].append(int(token))
    raise ValueError(f"Unbalanced ListOps source: {source[:80]!r}")


def write_tsv(rows, path):
    """Write `(source, target)` rows to `path` with LRA's `Source\\tTarget`
    header."""
    with fileio.whole_file(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["Source", "Target"])
        writer.writerows(rows)


def read_tsv(path):
    """Read a ListOps TSV (LRA format). Malformed rows are skipped and
    counted on stderr.

    Returns:
        `(sources, targets)`: list of str, int32 numpy array.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"ListOps file {path} not found. Generate it with `python -m "
            f"keras_fnet.data.listops --output {path}` or copy LRA's "
            f"basic_<split>.tsv there."
        )
    sources, targets, skipped = [], [], 0
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header != ["Source", "Target"]:
            raise ValueError(
                f"{path}: expected header 'Source\\tTarget', got {header}."
            )
        for row in reader:
            try:
                target = int(row[1])
                if len(row) != 2 or not row[0].strip() or not 0 <= target < 10:
                    raise ValueError
            except (ValueError, IndexError):
                skipped += 1
                continue
            sources.append(row[0])
            targets.append(target)
    if skipped:
        print(f"listops: skipped {skipped} malformed rows in {path}",
              file=sys.stderr)
    return sources, np.asarray(targets, np.int32)


def tokenize(sources, keep_parentheses=False):
    """Whitespace-tokenize sources into lists of ids (numpy, no `[CLS]`)."""
    index = {tok: i for i, tok in enumerate(VOCABULARY)}
    out = []
    for s in sources:
        toks = s.split()
        if not keep_parentheses:
            toks = [t for t in toks if t not in ("(", ")")]
        out.append(np.asarray([index.get(t, UNK_ID) for t in toks], np.int32))
    return out


def make_dataset(sources, targets, max_length, batch_size, shuffle=False,
                 seed=None, repeat=False, drop_remainder=False,
                 keep_parentheses=False):
    """Build the `(features, labels)` `tf.data` pipeline from sources.

    Args:
        sources: list of LRA-format strings.
        targets: int labels 0..9.
        max_length: model sequence length (including `[CLS]`); longer
            sequences are truncated.
        batch_size: examples per batch.
        shuffle, seed, repeat, drop_remainder: see `base.finish`.
        keep_parentheses: keep the `(`/`)` tokens.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches.

    Example:

    >>> rows = generate(8, 10, 30, seed=0)
    >>> ds = make_dataset([r[0] for r in rows], [r[1] for r in rows], 32, 4)
    >>> x, y = next(iter(ds))
    >>> x["token_ids"].shape, y.dtype.name
    (TensorShape([4, 32]), 'int32')
    """
    import tensorflow as tf

    from keras_fnet.data import base

    ids = tokenize(sources, keep_parentheses)
    # Pack in numpy once: ListOps files are small enough to live in memory.
    token_ids = np.zeros((len(ids), max_length), np.int32)
    mask = np.zeros((len(ids), max_length), np.int32)
    for i, seq in enumerate(ids):
        seq = np.concatenate([[CLS_ID], seq])[:max_length]
        token_ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1
    features = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": mask,
    }
    labels = np.asarray(targets, np.int32)
    ds = tf.data.Dataset.from_tensor_slices((features, labels))
    return base.finish(ds, batch_size, shuffle=shuffle, seed=seed,
                       repeat=repeat, drop_remainder=drop_remainder)


def _parse_args(argv):
    from keras_fnet.data import cli

    p = cli.ArgumentParser(
        prog="python -m keras_fnet.data.listops",
        description="Generate a ListOps TSV (Long Range Arena format).",
    )
    p.add_argument("--num-examples", type=cli.integer(1), default=2000,
                   help="number of distinct examples (LRA train: 96000)")
    p.add_argument("--min-length", type=cli.integer(0), default=500,
                   help="minimum tree length, inclusive (LRA: 500)")
    p.add_argument("--max-length", type=cli.integer(4), default=2000,
                   help="maximum tree length, inclusive, >= 4 (LRA: 2000)")
    p.add_argument("--max-depth", type=cli.integer(1), default=10,
                   help="maximum tree depth, >= 1 (LRA: 10)")
    p.add_argument("--max-args", type=cli.integer(2), default=10,
                   help="maximum arguments per operator, >= 2 (LRA: 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True, type=cli.output_file,
                   help="output .tsv path")
    args = p.parse_args(argv)
    try:
        check_settings(args.min_length, args.max_length, args.max_depth,
                       args.max_args, flags=True)
    except ValueError as error:
        p.error(str(error))
    return p, args


def main(argv=None):
    parser, args = _parse_args(argv)
    start = time.time()
    try:
        rows = generate(args.num_examples, args.min_length, args.max_length,
                        args.seed, args.max_depth, args.max_args, verbose=True)
        write_tsv(rows, args.output)
    except (RuntimeError, OSError) as error:
        parser.error(str(error))
    print(f"wrote {len(rows)} examples to {args.output} in "
          f"{time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
