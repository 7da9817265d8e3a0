"""The command line: ``python -m expfam fit | verify``.

It uses the public API only and is not imported by ``import expfam``.
"""

from __future__ import annotations

import argparse

from expfam.cli import fit, verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expfam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify.add_arguments(commands.add_parser("verify", help="check exact derivatives and round trips on this backend"))
    fit.add_arguments(
        commands.add_parser("fit", help="distributional regression of a CSV column (default: shipped claims data)")
    )
    args = parser.parse_args(argv)
    if args.command == "fit":
        return fit.main(args)
    return verify.main(args)
