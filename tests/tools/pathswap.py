#!/usr/bin/env python3
"""The path-swap race of tests/integration/images_race.sh, one side per run:

  pathswap.py swap DIR SECONDS          exchange DIR/d and DIR/evil (renameat2 RENAME_EXCHANGE)
  pathswap.py mount DIR SECRET SECONDS  read, write, create, delete... through DIR/d on the mount
  pathswap.py http URL USER:PASS SECRET NAME SECONDS   GET the file and the folder through d

Each prints "ops=N ok=N leaks=N" (leaks: SECRET or the root-only NAME came back)."""
import base64, ctypes, errno, http.client, os, random, sys, time, urllib.parse

AT_FDCWD, RENAME_EXCHANGE = -100, 2


def swap(top, secs):
    libc = ctypes.CDLL(None, use_errno=True)
    a, b = os.path.join(top, "d").encode(), os.path.join(top, "evil").encode()
    n, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        for _ in range(200):
            if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
                n += 1
            time.sleep(random.random() / 2000)  # so that some operations fall between swaps
    # leave the real folder as d, as it began
    if os.path.islink(a):
        libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    print(f"ops={n} ok={n} leaks=0")


ERRS = {}


def attempt(fn):
    try:
        return True, fn()
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        ERRS[name] = ERRS.get(name, 0) + 1
        return False, None


def mount_side(top, secret, secs):
    d = os.path.join(top, "d")
    ops = good = leaks = 0
    end = time.monotonic() + secs
    i = 0
    while time.monotonic() < end:
        i += 1
        p = lambda n: os.path.join(d, n)

        def read():
            with open(p("secret.txt"), "rb") as f:
                return f.read()

        def write():
            with open(p("victim"), "wb") as f:
                f.write(b"overwritten by the user\n")

        def create():
            fd = os.open(p(f"new{i}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            os.unlink(p(f"new{i}"))

        def doomed():
            if not os.path.lexists(p("doomed")):
                os.close(os.open(p("doomed"), os.O_WRONLY | os.O_CREAT, 0o644))
            os.unlink(p("doomed"))

        def mkdir():
            os.mkdir(p(f"dir{i}"))
            os.rmdir(p(f"dir{i}"))

        def rename():
            os.close(os.open(p("mv-a"), os.O_WRONLY | os.O_CREAT, 0o644))
            os.rename(p("mv-a"), p("victim2"))

        steps = [read, write, create, doomed, mkdir, rename,
                 lambda: os.chmod(p("victim"), 0o666),
                 lambda: os.truncate(p("victim"), 3),
                 lambda: os.utime(p("victim"), (0, 0)),
                 lambda: os.symlink("/", p(f"ln{i}")) or os.unlink(p(f"ln{i}")),
                 lambda: os.listdir(d)]
        for s in steps:
            ops += 1
            done, r = attempt(s)
            good += done
            if isinstance(r, bytes) and secret.encode() in r:
                leaks += 1
            if isinstance(r, list) and "root-only-name" in r:
                leaks += 1
    errs = ",".join(f"{k}:{v}" for k, v in sorted(ERRS.items()))
    print(f"ops={ops} ok={good} leaks={leaks} errors={errs}")


def http_side(url, cred, secret, name, secs):
    u = urllib.parse.urlsplit(url)
    auth = {"Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}
    ops = good = leaks = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for path in (u.path + "secret.txt", u.path):
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            try:
                c.request("GET", path, headers=auth)
                r = c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                continue
            finally:
                c.close()
            ops += 1
            good += r.status == 200
            if secret.encode() in body or name.encode() in body:
                leaks += 1
    print(f"ops={ops} ok={good} leaks={leaks}")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "swap":
        swap(a[1], float(a[2]))
    elif a[0] == "mount":
        mount_side(a[1], a[2], float(a[3]))
    elif a[0] == "http":
        http_side(a[1], a[2], a[3], a[4], float(a[5]))
    else:
        sys.exit(__doc__)
