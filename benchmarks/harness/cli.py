"""The one argument parser of the benchmarks: the options they share, spelled one way.

A benchmark names the common options it takes, with its own defaults, and adds only the
options of its own question::

    def build_parser() -> BenchmarkParser:
        p = new_parser("benchmarks.detection.mixed", __doc__, seeds=[0, 1, 2],
                       out=Path("results/mixed.csv"))
        p.add_argument("--tables", default="transactions,penguins,diamonds")
        return p

Lists (``--seeds``, ``--datasets``, ``--methods``) take commas, spaces or both:
``--seeds 0,1,2`` and ``--seeds 0 1 2`` are the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class BenchmarkParser(argparse.ArgumentParser):
    """An argument parser made by :func:`new_parser` (the tests check every benchmark's)."""


class _ListAction(argparse.Action):
    """Collect ``nargs="+"`` values split at commas, each converted by ``item``."""

    item: Callable[[str], Any] = str

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        try:
            items = [self.item(part.strip()) for value in values
                     for part in str(value).split(",") if part.strip()]
        except ValueError as error:
            parser.error(f"{option_string}: {error}; give e.g. {option_string} 0,1,2")
        setattr(namespace, self.dest, items)


class _IntListAction(_ListAction):
    item = int


#: The default that makes a common option required: ``new_parser(..., data=REQUIRED)``.
REQUIRED = object()


def _flag(help_text: str) -> dict[str, Any]:
    return {"action": "store_true", "help": help_text}


#: name -> (option string, ``add_argument`` keywords). A flag's default is always False.
COMMON_OPTIONS: Mapping[str, tuple[str, dict[str, Any]]] = {
    "data": ("--data", {"type": Path, "help": "input data, read in place"}),
    "out": ("--out", {"type": Path, "help": "where the results are written"}),
    "cache": ("--cache", {"type": Path, "help": "result cache folder"}),
    "no_cache": ("--no-cache", _flag("neither read nor write the result cache")),
    "seeds": ("--seeds", {"nargs": "+", "action": _IntListAction,
                          "help": "seeds, e.g. 0,1,2 or 0 1 2"}),
    "seed": ("--seed", {"type": int, "help": "the seed"}),
    "datasets": ("--datasets", {"nargs": "+", "action": _ListAction,
                                "help": "data set names, commas or spaces"}),
    "methods": ("--methods", {"nargs": "+", "action": _ListAction,
                              "help": "method names, commas or spaces"}),
    "threads": ("--threads", {"type": int, "help": "threads for torch, BLAS and OpenMP"}),
    "quick": ("--quick", _flag("a small, fast smoke run")),
}


def new_parser(module: str, doc: str | None, *, helps: Mapping[str, str] | None = None,
               **common: Any) -> BenchmarkParser:
    """The argument parser of the benchmark ``module``, with the common options it names.

    Parameters
    ----------
    module : str
        Dotted module name; ``--help`` shows ``python -m MODULE``.
    doc : str or None
        The module docstring: the help's description, shown as written.
    helps : mapping, optional
        Help texts that replace the common ones, by option name.
    **common
        Common options to add (names of ``COMMON_OPTIONS``), each with its default
        (``REQUIRED``: no default, the option must be given); for the flags ``quick`` and
        ``no_cache`` pass ``True`` to add them.

    Returns
    -------
    BenchmarkParser
        Add the benchmark's own options to it.

    Examples
    --------
    >>> p = new_parser("benchmarks.example", "An example.", seeds=[0], quick=True)
    >>> p.parse_args(["--seeds", "1,2", "3", "--quick"])
    Namespace(seeds=[1, 2, 3], quick=True)
    >>> p.parse_args([]).seeds
    [0]
    """
    unknown = sorted(set(common) - set(COMMON_OPTIONS))
    if unknown:
        raise TypeError(f"new_parser({module!r}): unknown common options {unknown}; "
                        f"known: {sorted(COMMON_OPTIONS)}; add the others with add_argument")
    parser = BenchmarkParser(prog=f"python -m {module}", description=doc,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    helps = helps or {}
    for name, (option, spec) in COMMON_OPTIONS.items():
        if name not in common:
            continue
        kwargs = dict(spec)
        if common[name] is REQUIRED:
            kwargs["required"] = True
            kwargs["help"] = helps.get(name, kwargs["help"])
        elif kwargs.get("action") != "store_true":
            kwargs["default"] = common[name]
            kwargs["help"] = helps.get(name, kwargs["help"])
            if common[name] is not None:
                kwargs["help"] += " (default: %(default)s)"
        elif name in helps:
            kwargs["help"] = helps[name]
        parser.add_argument(option, **kwargs)
    return parser


def comma_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: the type of a benchmark's own comma options."""
    return [part.strip() for part in text.split(",") if part.strip()]



def json_object(text: str) -> dict[str, Any]:
    """``'{"beta": 0.5}'`` -> ``{"beta": 0.5}``: the type of options that take keyword arguments.

    Examples
    --------
    >>> json_object('{"beta": 0.5}')
    {'beta': 0.5}
    """
    import json

    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object, e.g. '{{\"beta\": 0.5}}', got {text!r}")
    return value
