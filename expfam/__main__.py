"""Command line: ``python -m expfam verify`` and ``python -m expfam fit``."""

from __future__ import annotations

import argparse
import sys

from expfam import _fit_cli, _verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expfam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check exact derivatives and round trips on this backend")
    _verify.add_arguments(verify)
    fit = commands.add_parser("fit", help="distributional regression of a CSV column (default: shipped claims data)")
    _fit_cli.add_arguments(fit)
    args = parser.parse_args(argv)
    if args.command == "fit":
        return _fit_cli.main(args)
    return _verify.main(args)


if __name__ == "__main__":
    sys.exit(main())
