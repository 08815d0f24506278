"""The shell shared by the proxy benchmarks: flags, a private work directory, the RESULTS.md section."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .procs import BenchError
from .report import replace_section

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md"


def say(msg: str) -> None:
    print(f"[bench-proxy] {msg}", file=sys.stderr, flush=True)


def section_main(
    parser: argparse.ArgumentParser,
    raw: list[str],
    run: Callable[[argparse.Namespace, Path], str],
    *,
    heading: str,
    prefix: str,
) -> int:
    """Parse ``raw``, run the benchmark in a fresh 0700 directory, print its section, maybe write it.

    ``args.argv`` is set to the flags that change the measurement, for the
    command line quoted in the section. The work directory holds private
    keys and is removed afterwards unless ``--keep-workdir`` is given.
    """
    parser.add_argument("--update-results", action="store_true", help="write the section into bench/RESULTS.md")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs (holds private keys)")
    args = parser.parse_args(raw)
    args.argv = [a for a in raw if a not in ("--update-results", "--keep-workdir")]
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        section = run(args, workdir)
    except (BenchError, KeyboardInterrupt) as e:
        say(f"failed: {e}")
        return 1
    finally:
        if args.keep_workdir:
            say(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(section)
    if args.update_results:
        RESULTS.write_text(replace_section(RESULTS.read_text(), section, heading))
        say(f"wrote the section into {RESULTS}")
    return 0
