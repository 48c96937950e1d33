#!/usr/bin/env python3
"""A small 9P2000.L client for the tests: stdlib only, one connection, one thread.

Transports: --tcp HOST:PORT, --unix PATH, or --cmd 'COMMAND' (spawned with sh -c; 9P goes
over its stdin and stdout, as with `ssh host vmfs 9p-stdio`).

As a module: Client(transport) gives version/attach/walk/lopen/lcreate/read/write/clunk/
getattr/readdir/mkdir/unlinkat/remove/setattr/statfs/flush. A refusal raises P9Error
carrying Rlerror's errno. send() puts a request on the wire without waiting and returns its
tag; reply(tag) reads replies until that tag's comes (others are kept for their own reply()),
which is how a test parks a read and flushes it.

As a command (prints what a shell test compares):
  cat PATH | write PATH TEXT | ctl PATH TEXT | ls PATH | stat PATH | mkdir PATH | rmdir PATH | remove PATH
  chmod PATH MODE | chmodmany PATH MODE N | chmodversion PATH MODE N | chmodtwo PATH MODE N
  get PATH LOCALFILE | flushtest PATH MS | follow PATH SECONDS
  mkpark PATH statfs|flush|drop
PATH is relative to the attached root ('/' or '' is the root itself). A Rlerror prints
`errno N: strerror` on stdout and exits 1 (ctl prints the answer read back after it).
"""
import argparse
import errno as errnomod
import os
import select
import socket
import struct
import subprocess
import sys
import time

VERSION = "9P2000.L"
NOFID = 0xFFFFFFFF
NOTAG = 0xFFFF
MSIZE = 128 * 1024
IOHDR = 24  # kept free of an Rread's data, as Linux does (diod refuses a count over msize - 24)

# message types (T; the R is T + 1)
RLERROR = 7
TSTATFS, TLOPEN, TLCREATE, TGETATTR, TSETATTR = 8, 12, 14, 24, 26
TREADDIR, TMKDIR, TUNLINKAT = 40, 72, 76
TVERSION, TATTACH, TFLUSH, TWALK, TREAD, TWRITE, TCLUNK, TREMOVE = 100, 104, 108, 110, 116, 118, 120, 122

# Linux open flags, as 9P2000.L carries them
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND = 0o100, 0o200, 0o1000, 0o2000
O_DIRECTORY = 0o200000
AT_REMOVEDIR = 0x200
GETATTR_BASIC = 0x7FF
# Tsetattr's valid bits
SETATTR_MODE, SETATTR_UID, SETATTR_GID, SETATTR_SIZE = 0x1, 0x2, 0x4, 0x8


class P9Error(OSError):
    """A Rlerror: .errno is the server's errno."""

    def __init__(self, err, what=""):
        super().__init__(err, os.strerror(err), what or None)


class ProtocolError(Exception):
    pass


class Qid:
    def __init__(self, typ, version, path):
        self.type, self.version, self.path = typ, version, path

    def __repr__(self):
        return "%02x.%x.%x" % (self.type, self.version, self.path)


class Buf:
    """Reads a message body field by field."""

    def __init__(self, data):
        self.d, self.o = data, 0

    def take(self, n):
        if self.o + n > len(self.d):
            raise ProtocolError("a reply ends inside a field")
        v = self.d[self.o:self.o + n]
        self.o += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def str(self):
        return self.take(self.u16()).decode("utf-8", "surrogateescape")

    def qid(self):
        t, v, p = struct.unpack("<BIQ", self.take(13))
        return Qid(t, v, p)


def s(text):
    b = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return struct.pack("<H", len(b)) + b


# --- transports: each has send(bytes), recv(n) (b"" at the end), close() ---

class SockTransport:
    def __init__(self, sock):
        self.sock = sock

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, n):
        return self.sock.recv(n)

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


class CmdTransport:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv(self, n):
        return os.read(self.p.stdout.fileno(), n)

    def fileno(self):
        return self.p.stdout.fileno()

    def close(self):
        self.p.stdin.close()
        self.p.stdout.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def tcp(addr):
    host, _, port = addr.rpartition(":")
    sock = socket.create_connection((host.strip("[]"), int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return SockTransport(sock)


def unix(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return SockTransport(sock)


class Client:
    def __init__(self, transport):
        self.t = transport
        self.msize = MSIZE
        self.inbuf = b""
        self.kept = {}  # tag -> (type, body) of replies read while waiting for another
        self.next_tag = 0
        self.next_fid = 1

    def close(self):
        self.t.close()

    def fid(self):
        f = self.next_fid
        self.next_fid += 1
        return f

    # --- the wire ---
    def send(self, typ, body, tag=None):
        """Sends a T-message without waiting: its tag."""
        if tag is None:
            tag = self.next_tag
            self.next_tag = (self.next_tag + 1) % NOTAG
        self.t.send(struct.pack("<IBH", 7 + len(body), typ, tag) + body)
        return tag

    def _frame(self):
        while True:
            if len(self.inbuf) >= 4:
                size = struct.unpack("<I", self.inbuf[:4])[0]
                if size < 7 or size > self.msize:
                    raise ProtocolError("a reply of %d bytes" % size)
                if len(self.inbuf) >= size:
                    frame, self.inbuf = self.inbuf[:size], self.inbuf[size:]
                    typ, tag = struct.unpack("<BH", frame[4:7])
                    return tag, typ, frame[7:]
            chunk = self.t.recv(65536)
            if not chunk:
                raise ProtocolError("the server closed the connection")
            self.inbuf += chunk

    def reply(self, tag, want=None, timeout=None):
        """The reply to tag, as a Buf over its body (its type in .type). Rlerror raises
        P9Error; no reply within timeout seconds (None: wait for ever) raises TimeoutError."""
        end = None if timeout is None else time.monotonic() + timeout
        while tag not in self.kept:
            if end is not None and not self.inbuf and \
                    not select.select([self.t.fileno()], [], [], max(0, end - time.monotonic()))[0]:
                raise TimeoutError("no reply to tag %d within %g s" % (tag, timeout))
            t, typ, body = self._frame()
            self.kept[t] = (typ, body)
        typ, body = self.kept.pop(tag)
        if typ == RLERROR:
            raise P9Error(Buf(body).u32())
        if want is not None and typ != want + 1:
            raise ProtocolError("R%d to T%d" % (typ, want))
        b = Buf(body)
        b.type = typ
        return b

    def rpc(self, typ, body):
        return self.reply(self.send(typ, body), typ)

    # --- the messages ---
    def version(self, msize=MSIZE, version=VERSION):
        b = self.reply(self.send(TVERSION, struct.pack("<I", msize) + s(version), NOTAG), TVERSION)
        self.msize, v = b.u32(), b.str()
        if v != version:
            raise ProtocolError("the server speaks %r" % v)
        return self.msize, v

    def attach(self, fid, uname="", aname="", n_uname=NOFID, afid=NOFID):
        return self.rpc(TATTACH, struct.pack("<II", fid, afid) + s(uname) + s(aname) + struct.pack("<I", n_uname)).qid()

    def walk(self, fid, newfid, names):
        """Qids of the names walked; raises ENOENT when not all were (newfid is then unused)."""
        names = list(names)
        b = self.rpc(TWALK, struct.pack("<IIH", fid, newfid, len(names)) + b"".join(s(n) for n in names))
        qids = [b.qid() for _ in range(b.u16())]
        if len(qids) != len(names):
            raise P9Error(errnomod.ENOENT, "/".join(names[:len(qids) + 1]))
        return qids

    def lopen(self, fid, flags):
        b = self.rpc(TLOPEN, struct.pack("<II", fid, flags))
        return b.qid(), b.u32()

    def lcreate(self, fid, name, flags, mode, gid=0):
        b = self.rpc(TLCREATE, struct.pack("<I", fid) + s(name) + struct.pack("<III", flags, mode, gid))
        return b.qid(), b.u32()

    def send_read(self, fid, offset, count):
        return self.send(TREAD, struct.pack("<IQI", fid, offset, count))

    def read_reply(self, tag, timeout=None):
        b = self.reply(tag, TREAD, timeout)
        return b.take(b.u32())

    def read(self, fid, offset, count=None):
        return self.read_reply(self.send_read(fid, offset, count or self.msize - IOHDR))

    def write(self, fid, offset, data):
        if isinstance(data, str):
            data = data.encode()
        return self.rpc(TWRITE, struct.pack("<IQI", fid, offset, len(data)) + data).u32()

    def clunk(self, fid):
        self.rpc(TCLUNK, struct.pack("<I", fid))

    def remove(self, fid):
        self.rpc(TREMOVE, struct.pack("<I", fid))

    def getattr(self, fid, mask=GETATTR_BASIC):
        b = self.rpc(TGETATTR, struct.pack("<IQ", fid, mask))
        a = {"valid": b.u64(), "qid": b.qid()}
        for k in ("mode", "uid", "gid"):
            a[k] = b.u32()
        for k in ("nlink", "rdev", "size", "blksize", "blocks", "atime", "atime_ns", "mtime",
                  "mtime_ns", "ctime", "ctime_ns", "btime", "btime_ns", "gen", "data_version"):
            a[k] = b.u64()
        return a

    def setattr(self, fid, valid, mode=0, uid=0, gid=0, size=0, atime=(0, 0), mtime=(0, 0)):
        self.rpc(TSETATTR, struct.pack("<IIIIIQQQQQ", fid, valid, mode, uid, gid, size, *atime, *mtime))

    def readdir(self, fid, offset=0, count=None):
        """One Treaddir: [(qid, offset, type, name)], empty at the end."""
        b = self.rpc(TREADDIR, struct.pack("<IQI", fid, offset, count or self.msize - IOHDR))
        end = b.o + 4 + b.u32()
        out = []
        while b.o < end:
            out.append((b.qid(), b.u64(), b.u8(), b.str()))
        return out

    def mkdir(self, dfid, name, mode=0o755, gid=0):
        return self.rpc(TMKDIR, struct.pack("<I", dfid) + s(name) + struct.pack("<II", mode, gid)).qid()

    def unlinkat(self, dfid, name, flags=0):
        self.rpc(TUNLINKAT, struct.pack("<I", dfid) + s(name) + struct.pack("<I", flags))

    def statfs(self, fid):
        b = self.rpc(TSTATFS, struct.pack("<I", fid))
        return dict(zip(("type", "bsize", "blocks", "bfree", "bavail", "files", "ffree", "fsid", "namelen"),
                        (b.u32(), b.u32(), b.u64(), b.u64(), b.u64(), b.u64(), b.u64(), b.u64(), b.u32())))

    def send_flush(self, oldtag):
        return self.send(TFLUSH, struct.pack("<H", oldtag))

    def flush(self, oldtag):
        self.reply(self.send_flush(oldtag), TFLUSH)

    # --- conveniences over a root fid ---
    def connect(self, uname="", aname="", n_uname=NOFID):
        self.version()
        self.root = self.fid()
        self.attach(self.root, uname, aname, n_uname)
        return self

    def walkto(self, path):
        """A new fid for path (relative to the root)."""
        names = [n for n in path.split("/") if n]
        f = self.fid()
        for i in range(0, max(len(names), 1), 16):  # at most 16 names a Twalk
            self.walk(self.root if i == 0 else f, f, names[i:i + 16])
        return f

    def open(self, path, flags=O_RDONLY):
        f = self.walkto(path)
        try:
            self.lopen(f, flags)
        except P9Error:
            self.clunk(f)
            raise
        return f

    def readall(self, fid):
        out, off = [], 0
        while True:
            d = self.read(fid, off)
            if not d:
                return b"".join(out)
            out.append(d)
            off += len(d)


# --- the command line ---

def split_parent(path):
    parent, _, name = path.rstrip("/").rpartition("/")
    return parent, name


def cmd_cat(c, a):
    f = c.open(a.path)
    sys.stdout.buffer.write(c.readall(f))
    c.clunk(f)


def cmd_get(c, a):
    f = c.open(a.path)
    with open(a.local, "wb") as out:
        out.write(c.readall(f))
    c.clunk(f)


def cmd_write(c, a):
    f = c.open(a.path, O_WRONLY)
    c.write(f, 0, a.text)
    c.clunk(f)


def cmd_ctl(c, a):
    f = c.open(a.path, O_RDWR)
    err = None
    try:
        c.write(f, 0, a.text)
    except P9Error as e:
        err = e
    answer = c.read(f, 0)
    c.clunk(f)
    if err:
        print("errno %d: %s" % (err.errno, err.strerror))
    sys.stdout.buffer.write(answer)
    return 1 if err else 0


def cmd_ls(c, a):
    f = c.open(a.path, O_RDONLY | O_DIRECTORY)
    off = 0
    while True:
        ents = c.readdir(f, off)
        if not ents:
            break
        for _, off, _, name in ents:
            if name not in (".", ".."):
                print(name)
    c.clunk(f)


def cmd_stat(c, a):
    f = c.walkto(a.path)
    at = c.getattr(f)
    c.clunk(f)
    q = at["qid"]
    print("size %d\nmode %o\nuid %d\ngid %d\nqid.type %d\nqid.version %d\nqid.path %d"
          % (at["size"], at["mode"], at["uid"], at["gid"], q.type, q.version, q.path))


def cmd_mkdir(c, a):
    parent, name = split_parent(a.path)
    f = c.walkto(parent)
    c.mkdir(f, name, int(a.mode, 8))
    c.clunk(f)


def cmd_rmdir(c, a):
    parent, name = split_parent(a.path)
    f = c.walkto(parent)
    try:
        c.unlinkat(f, name, AT_REMOVEDIR)
    except P9Error as e:
        if e.errno != errnomod.EOPNOTSUPP:
            raise
        # a server without Tunlinkat (diod 1.0.24): Tremove, as Linux's v9fs falls back to
        c.remove(c.walkto(a.path))  # Tremove clunks the fid, whatever its answer
    finally:
        c.clunk(f)


def cmd_chmod(c, a):
    f = c.walkto(a.path)
    try:
        c.setattr(f, SETATTR_MODE, mode=int(a.mode, 8))
    finally:
        c.clunk(f)


def _chmods(c, f, mode, n):
    """N Tsetattr of fid f's mode, in one write; their tags."""
    body = struct.pack("<IIIIIQQQQQ", f, SETATTR_MODE, int(mode, 8), 0, 0, 0, 0, 0, 0, 0)
    tags = [(c.next_tag + i) % NOTAG for i in range(n)]
    c.next_tag = (c.next_tag + len(tags)) % NOTAG
    c.t.send(b"".join(struct.pack("<IBH", 7 + len(body), TSETATTR, t) + body for t in tags))
    return tags


def _tally(c, tags):
    """The answers to tags, as chmodmany prints them."""
    n = {"ok": 0, "eagain": 0, "other": 0}
    first, leading = 0, True
    for _ in tags:
        _, typ, body = c._frame()
        err = Buf(body).u32() if typ == RLERROR else 0
        kind = "ok" if not err else "eagain" if err == errnomod.EAGAIN else "other"
        n[kind] += 1
        leading = leading and kind == "eagain"
        first += leading
    return "ok %d eagain %d other %d first_eagain %d" % (n["ok"], n["eagain"], n["other"], first)


def cmd_chmodmany(c, a):
    """N Tsetattr of PATH's mode at once, in one write (a peer that pipelines): prints
    `ok K eagain E other O first_eagain F` once all are answered, F the EAGAINs that came
    before any other answer (a server's refusals at once, not its transactions' races)."""
    f = c.walkto(a.path)
    print(_tally(c, _chmods(c, f, a.mode, int(a.n))))
    c.clunk(f)


def cmd_chmodtwo(c, a):
    """N Tsetattr of PATH's mode on this connection, then N on a second one of the same user,
    each in one write, back to back: prints `first ...; second ...`, each as chmodmany does
    (the held cap is the user's, not each connection's)."""
    c2 = Client(tcp(a.tcp) if a.tcp else unix(a.unix))
    try:
        c2.connect(a.uname, a.aname, a.n_uname)
        f1, f2 = c.walkto(a.path), c2.walkto(a.path)
        t1 = _chmods(c, f1, a.mode, int(a.n))
        t2 = _chmods(c2, f2, a.mode, int(a.n))
        print("first %s; second %s" % (_tally(c, t1), _tally(c2, t2)))
        c.clunk(f1)
        c2.clunk(f2)
        c2.clunk(c2.root)
    finally:
        c2.close()


def cmd_chmodversion(c, a):
    """N Tsetattr of PATH's mode, a Tversion, Tattach and Twalk of a new session, N more, all
    in one write: prints `second ok K eagain E other O`, the second N's answers (the first
    N's held ones, never answered after the Tversion, still count against the cap)."""
    names = [n for n in a.path.split("/") if n][:16]
    n = int(a.n)

    def frame(typ, tag, body):
        return struct.pack("<IBH", 7 + len(body), typ, tag) + body

    def setattrs(f, tags):
        body = struct.pack("<IIIIIQQQQQ", f, SETATTR_MODE, int(a.mode, 8), 0, 0, 0, 0, 0, 0, 0)
        return b"".join(frame(TSETATTR, t, body) for t in tags)

    f = c.walkto(a.path)
    tags1 = [(c.next_tag + i) % NOTAG for i in range(n)]
    tags2 = [(c.next_tag + n + 3 + i) % NOTAG for i in range(n)]
    root2, f2 = c.fid(), c.fid()
    out = setattrs(f, tags1)
    out += frame(TVERSION, NOTAG, struct.pack("<I", MSIZE) + s(VERSION))
    out += frame(TATTACH, tags1[-1] + 1, struct.pack("<II", root2, NOFID) + s(a.uname) + s(a.aname)
                 + struct.pack("<I", a.n_uname))
    out += frame(TWALK, tags1[-1] + 2, struct.pack("<IIH", root2, f2, len(names)) + b"".join(s(x) for x in names))
    out += setattrs(f2, tags2)
    c.t.send(out)
    got = {"ok": 0, "eagain": 0, "other": 0}
    left = set(tags2)
    while left:
        tag, typ, body = c._frame()
        if tag not in left:
            continue
        left.discard(tag)
        err = Buf(body).u32() if typ == RLERROR else 0
        got["ok" if not err else "eagain" if err == errnomod.EAGAIN else "other"] += 1
    print("second ok %d eagain %d other %d" % (got["ok"], got["eagain"], got["other"]))
    c.root = root2  # the old session's fids are gone


def cmd_mkpark(c, a):
    """A Tmkdir of PATH that the server may hold (a launch), and meanwhile: statfs (a Tstatfs
    on the same connection: prints `statfs answered first yes|no`, then waits for Rmkdir),
    flush (a Tflush of it: prints `rflush ok`), or drop (the connection closes at once)."""
    parent, name = split_parent(a.path)
    f = c.walkto(parent)
    tag = c.send(TMKDIR, struct.pack("<I", f) + s(name) + struct.pack("<II", 0o755, 0))
    if a.then == "drop":
        c.close()
        os._exit(0)  # (nothing more on a closed connection: not even the root's clunk)
    if a.then == "statfs":
        c.reply(c.send(TSTATFS, struct.pack("<I", c.root)), TSTATFS, timeout=5)
        print("statfs answered first %s" % ("no" if tag in c.kept else "yes"))
        c.reply(tag, TMKDIR, timeout=20)
    else:
        c.reply(c.send_flush(tag), TFLUSH, timeout=5)
        print("rflush ok")
    c.clunk(f)


def cmd_remove(c, a):
    c.remove(c.walkto(a.path))  # Tremove clunks the fid, whatever its answer


def park_read(c, fid):
    """Reads what the file has now (a console's scrollback) and leaves a read waiting for
    more: its tag, or None if the file ended (it is not a stream)."""
    off = 0
    while True:
        tag = c.send_read(fid, off, 4096)
        try:  # what comes within 0.3 s is what was there, not a read that waited
            d = c.read_reply(tag, timeout=0.3)
        except TimeoutError:
            return tag
        if not d:
            return None
        off += len(d)


def cmd_flushtest(c, a):
    """A read that waits (a console with nothing new), Tflush after MS ms. Prints how long
    Rflush took (rflush_ms N, or rflush_ms none when none came within --limit seconds) and
    whether the read was answered before it (a server may answer it first)."""
    f = c.open(a.path)
    tag = park_read(c, f)
    if tag is None:
        print("p9client: %s ended: no read waits" % a.path, file=sys.stderr)
        return 2
    time.sleep(a.ms / 1000)
    t0 = time.monotonic()
    try:
        c.reply(c.send_flush(tag), TFLUSH, timeout=a.limit)
        print("rflush_ms %.1f" % ((time.monotonic() - t0) * 1000))
    except TimeoutError:
        print("rflush_ms none")
        return 1
    print("read_answered_first %s" % ("yes" if c.kept.pop(tag, None) else "no"))
    c.clunk(f)


def cmd_follow(c, a):
    """Prints what the file gives for SECONDS seconds (a console: its scrollback, then output
    as it comes); then flushes the read still waiting (up to 2 s for Rflush)."""
    f = c.open(a.path)
    end = time.monotonic() + a.seconds
    off = 0
    tag = c.send_read(f, off, 4096)
    while True:
        try:
            d = c.read_reply(tag, timeout=max(0, end - time.monotonic()))
        except TimeoutError:
            break
        if not d:  # end of file: a file that is not a stream; look again a little later
            time.sleep(0.1)
        sys.stdout.buffer.write(d)
        sys.stdout.flush()
        off += len(d)
        tag = c.send_read(f, off, 4096)
    try:
        c.reply(c.send_flush(tag), TFLUSH, timeout=2)
    except TimeoutError:
        print("p9client: no Rflush within 2 s", file=sys.stderr)
        return 1
    c.kept.pop(tag, None)
    c.clunk(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description="A small 9P2000.L client for vmfs's tests.")
    tr = ap.add_mutually_exclusive_group(required=True)
    tr.add_argument("--tcp", metavar="HOST:PORT")
    tr.add_argument("--unix", metavar="PATH")
    tr.add_argument("--cmd", metavar="COMMAND", help="speak over a command's stdin/stdout")
    ap.add_argument("--aname", default="")
    ap.add_argument("--uname", default="")
    ap.add_argument("--n-uname", type=int, default=NOFID, help="numeric uid for Tattach")
    sub = ap.add_subparsers(dest="op", required=True)
    for name, args in (("cat", ["path"]), ("write", ["path", "text"]), ("ctl", ["path", "text"]),
                       ("ls", ["path"]), ("stat", ["path"]), ("mkdir", ["path"]),
                       ("rmdir", ["path"]), ("remove", ["path"]), ("get", ["path", "local"]),
                       ("chmod", ["path", "mode"]), ("chmodmany", ["path", "mode", "n"]),
                       ("chmodversion", ["path", "mode", "n"]),
                       ("chmodtwo", ["path", "mode", "n"]),
                       ("mkpark", ["path", "then"])):
        p = sub.add_parser(name)
        for x in args:
            p.add_argument(x)
        p.set_defaults(fn=globals()["cmd_" + name])
        if name == "mkdir":
            p.add_argument("--mode", default="755")
    p = sub.add_parser("flushtest")
    p.add_argument("path")
    p.add_argument("ms", type=int)
    p.add_argument("--limit", type=float, default=10, help="seconds to wait for Rflush")
    p.set_defaults(fn=cmd_flushtest)
    p = sub.add_parser("follow")
    p.add_argument("path")
    p.add_argument("seconds", type=float)
    p.set_defaults(fn=cmd_follow)
    a = ap.parse_args(argv)

    t = tcp(a.tcp) if a.tcp else unix(a.unix) if a.unix else CmdTransport(a.cmd)
    c = Client(t)
    try:
        c.connect(a.uname, a.aname, a.n_uname)
        rc = a.fn(c, a) or 0
        c.clunk(c.root)
        return rc
    except P9Error as e:
        print("errno %d: %s" % (e.errno, e.strerror))
        return 1
    except (ProtocolError, OSError) as e:
        print("p9client: %s" % e, file=sys.stderr)
        return 2
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
