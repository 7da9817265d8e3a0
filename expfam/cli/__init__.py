"""The command line: ``python -m expfam fit | predict | verify``.

It uses the public API only and is not imported by ``import expfam``. ``load_fit`` loads a fit
saved by ``fit`` from Python.
"""

from __future__ import annotations

import sys

from expfam.cli import fit, predict, verify
from expfam.cli.arguments import InputError, Parser, UsageError
from expfam.cli.saved import SavedFit, load_fit

__all__ = ["SavedFit", "load_fit", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    A user error prints one line on stderr and returns 2 (a command line ``argparse`` rejects)
    or 1 (bad files or settings), before any training and without writing any output.
    """
    parser = Parser(prog="python -m expfam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify.add_arguments(commands.add_parser("verify", help="check exact derivatives and round trips on this backend"))
    fit.add_arguments(
        commands.add_parser("fit", help="distributional regression of a CSV column (default: shipped claims data)")
    )
    predict.add_arguments(
        commands.add_parser("predict", help="a saved fit's predictive distribution for each row of a CSV")
    )
    try:
        args = parser.parse_args(argv)
        if args.command == "fit":
            fit.run(args)
            return 0
        if args.command == "predict":
            return predict.run(args)
        return verify.main(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except InputError as error:
        print(f"expfam {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("expfam: interrupted", file=sys.stderr)
        return 130
