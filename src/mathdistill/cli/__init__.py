"""Command line: `python -m mathdistill <command> ...`, every stage runnable without snakemake.

    python -m mathdistill data fetch        # the data sets -> the user cache (sha256-checked)
    python -m mathdistill prepare --dataset gsm8k --split train --out gsm8k.jsonl --limit 100
    python -m mathdistill teach --teacher annotated --strategy pot --problems gsm8k.jsonl \\
        --out pot.raw.jsonl
    python -m mathdistill filter --in pot.raw.jsonl --out pot.jsonl --stats filter_stats.json
    python -m mathdistill build-student --preset tiny-t5 --train gsm8k.jsonl --out base
    python -m mathdistill build-round --type single --strategies pot --rationales pot.jsonl \\
        --out mixed.jsonl
    python -m mathdistill train --base base --examples mixed.jsonl --out ckpt -o epochs=8
    python -m mathdistill predict --checkpoint ckpt --strategy pot --problems test.jsonl \\
        --out predictions.jsonl
    python -m mathdistill evaluate --predictions predictions.jsonl --out metrics.json

Commands, by module: `cli.data` (prepare, data fetch, data verify), `cli.teacher` (teach,
filter, solve), `cli.students` (build-student, train, predict, evaluate), `cli.rounds`
(build-round, siked generate, fdd pool / generate, tailored exam / feedback / train). Each
calls the library function its workflow rule's script calls (workflow/scripts/*.py).

`main(argv) -> int`: 0 on success, 2 on bad input (a missing or malformed file, an unknown
name, a bad option), printed as one line `mathdistill <command>: error: <file:line: reason>`
on stderr (-v adds the traceback). Logs and progress bars go to stderr (-v for debug, -q
for warnings only); a one-line summary goes to stdout. Outputs are written atomically.

Adding a command: in the module of its group, write `_add_<name>(sub)` (the parser, with
`set_defaults(func=...)`; `command_name=` for a sub-command such as "data fetch") and
`cmd_<name>(args) -> int`, and append `_add_<name>` to the module's `COMMANDS`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from mathdistill import __version__
from mathdistill.cli import data, rounds, students, teacher
from mathdistill.cli.common import UsageError
from mathdistill.io import DataError
from mathdistill.records import RecordError

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]

COMMANDS = [*data.COMMANDS, *teacher.COMMANDS, *students.COMMANDS, *rounds.COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    examples = __doc__.split("\n\n")[1]  # the usage lines of the module docstring
    parser = argparse.ArgumentParser(
        prog="mathdistill", description=__doc__.split("\n")[0],
        epilog=f"examples:\n{examples}\n\nErrors in the input: one line naming file:line on "
               "stderr, exit code 2. `mathdistill COMMAND --help` lists a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mathdistill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging; a traceback with errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input, not a bug: one line on stderr, exit code 2."""
    from mathdistill.strategies import StepsError
    from mathdistill.teachers import TeacherConfigError
    from mathdistill.teachers.backend import TeacherError

    return (DataError, RecordError, UsageError, TeacherConfigError, TeacherError, StepsError,
            OSError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, message already printed)
        return int(e.code or 0)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name = getattr(args, "command_name", None) or args.command
    errors = _user_errors()
    try:
        return args.func(args)
    except errors as e:
        if args.verbose:
            traceback.print_exc()
        msg = str(e) if not isinstance(e, OSError) or not e.filename else \
            f"{e.filename}: {e.strerror}"
        print(f"mathdistill {name}: error: {msg}", file=sys.stderr)
        return 2
