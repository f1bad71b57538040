"""``python -m dashboard <command>``: one entry point, each command in the module that owns it.

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int``; it is
imported only when its command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "simulator": ("dashboard.simulator.cli", "run the bundled Khoros Care simulator as an HTTP server"),
    "sync": ("dashboard.store.cli_sync", "fetch exports from Khoros (or the simulator) into the local store"),
    "import": ("dashboard.store.cli_import", "import export files downloaded from the Khoros UI"),
    "repair": ("dashboard.store.cli_repair", "set damaged day files aside and fetch those days again"),
    "facts": ("dashboard.store.cli_facts", "keep the conversation facts current in the store (or --check them)"),
    "report": ("dashboard.report", "print service-level reports from the local store"),
    "payload": ("dashboard.embed", "encode or decode an iFrame extension payload (for admins)"),
    "doctor": ("dashboard.doctor", "check the connection to Khoros (or the simulator): access, formats, limits, clock"),
    "notify": ("dashboard.notify.cli", "send scheduled digests and SLA breach alerts by e-mail and chat"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Import only the module of the chosen command (others may be slow or absent).
    if argv and argv[0] in COMMANDS:
        module_name, help_text = COMMANDS[argv[0]]
        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"python -m dashboard {argv[0]}", description=help_text)
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
        return int(module.run(args) or 0)
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Khoros Care Dashboard command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    parser.parse_args(argv)
    parser.print_help()
    return 2
