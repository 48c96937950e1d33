#!/usr/bin/env python3
"""The timed loop of bench/export: COUNT whole reads of one file over one connection, as `cat`
does it, and the median time of one, in microseconds.

  p9bench.py fuse PATH COUNT                          os.open, os.read to the end, os.close
  p9bench.py p9 (--unix S | --tcp A) [--aname X] PATH COUNT
                                                      Twalk, Tlopen, Tread to the end, Tclunk

Both sides run in this same interpreter, so Python's own cost is on both; the connection,
Tversion and Tattach come before the clock. Prints "median_us N bytes B wait_us W": the
medians of a read's time and of that time less this process's own CPU time during it (the
time spent waiting for the server).
"""
import atexit
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the checkout
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/tools"))
import p9client  # noqa: E402

CHUNK = 128 * 1024
WARM = 3  # reads before the clock: the page cache, the server's first allocations


def fuse_once(path):
    fd = os.open(path, os.O_RDONLY)
    n = 0
    while True:
        d = os.read(fd, CHUNK)
        if not d:
            break
        n += len(d)
    os.close(fd)
    return n


def p9_once(c, names):
    f = c.fid()
    c.walk(c.root, f, names)
    c.lopen(f, p9client.O_RDONLY)
    n, off = 0, 0
    while True:
        d = c.read(f, off)
        if not d:
            break
        n += len(d)
        off += len(d)
    c.clunk(f)
    return n


def main(argv):
    if argv[:1] == ["fuse"] and len(argv) == 3:
        path, count = argv[1], int(argv[2])
        once = lambda: fuse_once(path)  # noqa: E731
    elif argv[:1] == ["p9"] and len(argv) >= 5:
        args = argv[1:-2]
        path, count = argv[-2], int(argv[-1])
        opts = dict(zip(args[::2], args[1::2]))
        t = p9client.unix(opts["--unix"]) if "--unix" in opts else p9client.tcp(opts["--tcp"])
        c = p9client.Client(t)
        c.connect(opts.get("--uname", "root"), opts.get("--aname", ""), 0)
        names = [n for n in path.split("/") if n]
        once = lambda: p9_once(c, names)  # noqa: E731
        atexit.register(c.clunk, c.root)
    else:
        sys.exit(__doc__)
    for _ in range(WARM):
        size = once()
    times, waits = [], []
    for _ in range(count):
        c0, t0 = time.process_time(), time.perf_counter()
        n = once()
        t1, c1 = time.perf_counter(), time.process_time()
        times.append(t1 - t0)
        waits.append((t1 - t0) - (c1 - c0))
        if n == 0:
            sys.exit("p9bench: %s read 0 bytes" % path)
        size = n
    print("median_us %.1f bytes %d wait_us %.1f" % (statistics.median(times) * 1e6, size,
                                                      statistics.median(waits) * 1e6))


if __name__ == "__main__":
    main(sys.argv[1:])
