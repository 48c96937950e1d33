#!/usr/bin/env python3
"""What libnfs-utils cannot do, through libnfs itself (ctypes, no headers needed): an NFS
mkdir, rmdir, a write onto an existing file (nfs-cp creates with O_EXCL), a read to EOF
whatever size the server reports, and an old file handle put to the server again.

usage: nfsop.py mkdir|rmdir|read URL
       nfsop.py write URL TEXT       prints "ok N" or "error ERRNO MESSAGE"
       nfsop.py ctl URL TEXT         the same on a read-write open, then what reading it
                                     back gives (a ctl file's answer), line by line
       nfsop.py handle URL           prints "INO HEX": the file's inode number and NFS handle
       nfsop.py stathandle URL HEX   prints "now INO" for URL, then asks the server about the
                                     handle HEX (from before a restart, say): "old INO" or
                                     "old error ERRNO MESSAGE"
URL as libnfs takes it: nfs://127.0.0.1/export/ns/default/info?version=4
Errors: exit 1 with "error ERRNO MESSAGE" (ERRNO a name, MESSAGE libnfs's, with the NFS
status) on stdout."""
import ctypes
import errno
import os
import sys

L = ctypes.CDLL("libnfs.so.13", use_errno=True)
P = ctypes.c_void_p


class Url(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("path", ctypes.c_char_p), ("file", ctypes.c_char_p)]


class Stat64(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize", "blocks",
        "atime", "mtime", "ctime", "atime_nsec", "mtime_nsec", "ctime_nsec", "used")]


class Fh(ctypes.Structure):
    """The head of libnfs's struct nfsfh (libnfs-private.h, 4.0): the handle itself."""
    _fields_ = [("len", ctypes.c_int), ("val", ctypes.c_void_p)]


L.nfs_init_context.restype = P
L.nfs_get_error.restype = ctypes.c_char_p
L.nfs_get_error.argtypes = [P]
L.nfs_parse_url_full.restype = ctypes.POINTER(Url)
L.nfs_parse_url_full.argtypes = [P, ctypes.c_char_p]
L.nfs_mount.argtypes = [P, ctypes.c_char_p, ctypes.c_char_p]
for f in ("nfs_mkdir", "nfs_rmdir"):
    getattr(L, f).argtypes = [P, ctypes.c_char_p]
L.nfs_open.argtypes = [P, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(P)]
L.nfs_close.argtypes = [P, P]
L.nfs_pread.argtypes = [P, P, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p]
L.nfs_write.argtypes = [P, P, ctypes.c_uint64, ctypes.c_char_p]
L.nfs_fstat64.argtypes = [P, P, ctypes.POINTER(Stat64)]
L.nfs_destroy_context.argtypes = [P]


def why(nfs, r):
    msg = (L.nfs_get_error(nfs) or b"").decode(errors="replace").replace("\n", " ")
    return "%s %s" % (errno.errorcode.get(-r, str(-r)), msg)


def fail(nfs, r):
    print("error", why(nfs, r))
    sys.exit(1)


def connect(url):
    nfs = L.nfs_init_context()
    u = L.nfs_parse_url_full(nfs, url.encode())
    if not u:
        print("error EINVAL", L.nfs_get_error(nfs).decode(errors="replace"))
        sys.exit(2)
    r = L.nfs_mount(nfs, u.contents.server, u.contents.path)
    if r < 0:
        fail(nfs, r)
    return nfs, u.contents.file


def open_(nfs, path, flags):
    fh = P()
    r = L.nfs_open(nfs, path, flags, ctypes.byref(fh))
    if r < 0:
        fail(nfs, r)
    return fh


def fstat(nfs, fh):
    st = Stat64()
    r = L.nfs_fstat64(nfs, fh, ctypes.byref(st))
    if r < 0:
        fail(nfs, r)
    return st


def read_all(nfs, fh):
    out, buf = b"", ctypes.create_string_buffer(65536)
    while True:
        r = L.nfs_pread(nfs, fh, len(out), len(buf), buf)
        if r <= 0:
            return out, r
        out += buf.raw[:r]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    op, url = argv[1], argv[2]
    nfs, path = connect(url)
    if op in ("mkdir", "rmdir"):
        r = getattr(L, "nfs_" + op)(nfs, path)
        if r < 0:
            fail(nfs, r)
    elif op in ("write", "ctl") and len(argv) == 4:
        fh = open_(nfs, path, os.O_WRONLY if op == "write" else os.O_RDWR)
        data = argv[3].encode()
        r = L.nfs_write(nfs, fh, len(data), data)
        print("ok %d" % r if r >= 0 else "error " + why(nfs, r))
        if op == "ctl":
            answer, _ = read_all(nfs, fh)
            sys.stdout.write(answer.decode(errors="replace"))
        L.nfs_close(nfs, fh)
        L.nfs_destroy_context(nfs)
        return 0 if r >= 0 else 1
    elif op == "read":
        fh = open_(nfs, path, os.O_RDONLY)
        data, r = read_all(nfs, fh)
        if r < 0:
            fail(nfs, r)
        sys.stdout.buffer.write(data)
    elif op == "handle":
        fh = open_(nfs, path, os.O_RDONLY)
        st = fstat(nfs, fh)
        h = ctypes.cast(fh, ctypes.POINTER(Fh)).contents
        print(st.ino, ctypes.string_at(h.val, h.len).hex())
    elif op == "stathandle" and len(argv) == 4:
        fh = open_(nfs, path, os.O_RDONLY)
        print("now", fstat(nfs, fh).ino)
        # libnfs has no call that takes a raw handle: the open file's own is swapped for
        # the old one while it is asked about, and put back before libnfs frees it
        h = ctypes.cast(fh, ctypes.POINTER(Fh)).contents
        keep, old = (h.len, h.val), ctypes.create_string_buffer(bytes.fromhex(argv[3]))
        h.len, h.val = len(old.raw) - 1, ctypes.cast(old, ctypes.c_void_p).value
        st = Stat64()
        r = L.nfs_fstat64(nfs, fh, ctypes.byref(st))
        h.len, h.val = keep
        print("old", st.ino if r == 0 else "error " + why(nfs, r))
        L.nfs_close(nfs, fh)
    else:
        sys.exit(__doc__)
    L.nfs_destroy_context(nfs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
