"""Growth per socket between two heap snapshots of one worker (bench/heap/sitecustomize.py): RSS,
traced Python heap, and the allocation sites that grew most, by file, line and traceback.

    python bench/heap/compare.py EARLIER.snap LATER.snap [frames]"""

import re
import sys
import tracemalloc


def _meta(path: str) -> tuple[int, int]:
    return int(re.search(r"fds(\d+)", path).group(1)), int(re.search(r"rss(\d+)", path).group(1))


def _short(filename: str) -> str:
    return filename.split("site-packages/")[-1]


def main() -> None:
    earlier, later = sys.argv[1], sys.argv[2]
    frames = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    (fds_a, rss_a), (fds_b, rss_b) = _meta(earlier), _meta(later)
    sockets = fds_b - fds_a
    own = [tracemalloc.Filter(False, tracemalloc.__file__)]
    a = tracemalloc.Snapshot.load(earlier).filter_traces(own)
    b = tracemalloc.Snapshot.load(later).filter_traces(own)
    traced = sum(s.size for s in b.statistics("filename")) - sum(s.size for s in a.statistics("filename"))
    print(f"descriptors {fds_a} -> {fds_b} (+{sockets}); RSS +{(rss_b - rss_a) / sockets:.1f} KB per socket", end="")
    print(f" (tracing's own memory included); traced heap +{traced / sockets / 1024:.2f} KB per socket")
    for group, top in (("filename", 15), ("lineno", 25)):
        print(f"\n-- by {group} --")
        for stat in b.compare_to(a, group)[:top]:
            where = _short(stat.traceback[0].filename) + (f":{stat.traceback[0].lineno}" if group == "lineno" else "")
            print(f"{stat.size_diff / sockets:8.0f} B {stat.count_diff / sockets:6.2f} blocks per socket  {where}")
    print("\n-- by traceback --")
    for stat in b.compare_to(a, "traceback")[:12]:
        print(f"{stat.size_diff / sockets:8.0f} B {stat.count_diff / sockets:6.2f} blocks per socket")
        for frame in list(stat.traceback)[:frames]:
            print(f"      {_short(frame.filename)}:{frame.lineno}")


if __name__ == "__main__":
    main()
