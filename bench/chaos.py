"""Chaos benchmark: the long profile of the chaos suite, on havip or on keepalived.

Three routers (r1 150, r2 100, r3 120; VRRPv3, one VIP, advert_int 0.2 s by default) take
`--faults` seeded faults one after another: link flaps, bridge-isolation split brains,
SIGKILL and restart, SIGHUP storms, hanging track scripts and wrong-auth floods. After every
heal it checks that r1 is the one master within Master_Down_Interval plus one interval, that
no VIP is on a non-master, that notifies match the logged states one for one and in order, and
(havip only: keepalived has no /metrics) that no metric series was lost. The fault sequence
depends on the seed alone, so the same command reproduces it.

    sudo nice -n 10 .venv/bin/python -m bench.chaos [--faults 500] [--seed S]
        [--daemon havip|keepalived] [--advert-int 0.2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from havip.lab.chaos.runner import run_chaos
from havip.lab.netns import LabError


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--faults", type=int, default=500, help="faults to inject (default 500)")
    parser.add_argument("--seed", type=int, help="fault sequence seed (default: a random one)")
    parser.add_argument("--daemon", choices=("havip", "keepalived"), default="havip")
    parser.add_argument("--advert-int", type=float, default=0.2, help="seconds (VRRPv3)")
    parser.add_argument("--keep", type=Path, help="keep the routers' configs and logs here")
    args = parser.parse_args(argv)
    if args.faults < 1:
        parser.error("--faults must be at least 1")
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    # Ctrl-C and SIGTERM unwind through the lab's `with` block, which removes everything.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="havip-chaos-") as scratch:
        workdir = args.keep or Path(scratch)
        try:
            report = run_chaos(args.daemon, seed, args.faults, workdir, args.advert_int, say)
        except LabError as error:
            print(f"{args.daemon}: {error}", file=sys.stderr)
            return 2
    print(report.summary())
    print(
        f"command: nice -n 10 .venv/bin/python -m bench.chaos --daemon {args.daemon} "
        f"--faults {args.faults} --seed {seed} --advert-int {args.advert_int:g}"
    )
    return 1 if report.violations else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; lab removed", file=sys.stderr)
        sys.exit(130)
