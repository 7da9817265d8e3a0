"""Command line: ``python -m expfam verify``."""

from __future__ import annotations

import argparse
import sys

from expfam import _verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expfam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check exact derivatives and round trips on this backend")
    _verify.add_arguments(verify)
    args = parser.parse_args(argv)
    return _verify.main(args)


if __name__ == "__main__":
    sys.exit(main())
