"""Summarise py-spy collapsed stacks (results/<run>/profile-*.txt.gz): the functions where the
service's workers spent their samples, by own time and by inclusive time.

    .venv/bin/python bench/profile_top.py bench/results/<run>/profile-NAME.txt.gz [--top 25] [--grep dorami_api]
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections import Counter
from pathlib import Path


def frames(stack: str) -> list[str]:
    # "process 123:...;function (file.py:10);..." -> "function (file.py)" without line numbers
    return [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if f and not f.startswith("process ")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", help="only frames whose text contains this (e.g. dorami_api)")
    args = parser.parse_args()
    own, inclusive, total = Counter(), Counter(), 0
    # py-spy's collapsed stacks, gzipped by run.py once recorded (profile-*.txt.gz) or plain.
    raw = gzip.decompress(args.path.read_bytes()) if args.path.suffix == ".gz" else args.path.read_bytes()
    text = raw.decode(errors="replace")  # py-spy may cut a frame's name in the middle of a character
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        fs = frames(stack)
        if fs:
            own[fs[-1]] += n
        for f in set(fs):
            inclusive[f] += n
    print(f"{total} samples")
    for title, counter in (("own", own), ("inclusive", inclusive)):
        print(f"\n-- {title} --")
        shown = 0
        for frame, n in counter.most_common():
            if args.grep and args.grep not in frame:
                continue
            print(f"{n / total * 100:6.1f} %  {frame}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
