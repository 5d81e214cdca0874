"""Entry point of the ``hadeq`` command.

Each sub-command lives in its own module under ``hadeq.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function
``(args) -> int``. Deliberate errors (:class:`hadeq.errors.HadeqError`) become one line on
stderr and exit status 2; argparse's own usage errors are one line and exit 2 as well.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence

from hadeq.cli import bench, energy, evaluate, spice, train
from hadeq.errors import HadeqError

COMMANDS = (bench, energy, spice, train, evaluate)
"""The modules providing sub-commands, in the order ``--help`` lists them."""


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2), like
    every other hadeq error; ``--help`` still shows the full usage. Abbreviated flags
    are refused: ``--resum`` silently meaning ``--resume`` hides typos."""

    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="hadeq",
        description="Hybrid analog-digital deep equilibrium models: simulate, train, measure.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.set_defaults(handler=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_OneLineParser)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from hadeq import __version__

        print(__version__)
        return 0
    if args.handler is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except HadeqError as exc:
        print(f"hadeq {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hadeq {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `hadeq bench --dry-run | head`: the reader has gone
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
