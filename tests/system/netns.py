# SPDX-License-Identifier: MIT
# Network-namespace helpers for the client system tests (root only): namespaces, veth
# pairs, addresses, processes and sockets inside them. Everything made is torn down by
# Lab.close(), which the fixtures call in a finally block, even after a failure.

import ctypes
import itertools
import os
import signal
import socket
import subprocess
import threading

PYTHON = "/usr/bin/python3"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_serial = itertools.count()


def have_root():
    return os.geteuid() == 0


def run(cmd, check=True, timeout=20, **kw):
    """Runs cmd (a list) and returns the CompletedProcess; raises on failure when check."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, cmd)), r.returncode, r.stdout, r.stderr))
    return r


class Netns:
    """One network namespace with a unique name; lo is up."""

    def __init__(self, lab, role):
        self.lab = lab
        self.role = role
        self.name = "np%d-%s%d" % (os.getpid(), role, next(_serial))
        run(["ip", "netns", "add", self.name])
        lab.namespaces.append(self)
        self.ip("link", "set", "lo", "up")

    def ip(self, *args, check=True):
        return run(["ip", "-n", self.name] + list(args), check=check)

    def exec_cmd(self, cmd):
        return ["ip", "netns", "exec", self.name] + [str(c) for c in cmd]

    def run(self, cmd, check=True, timeout=30, **kw):
        return run(self.exec_cmd(cmd), check=check, timeout=timeout, **kw)

    def sysctl(self, key, value):
        self.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)])

    def popen(self, cmd, log_path, **kw):
        """Starts cmd inside the namespace, stdout+stderr into log_path; killed at close."""
        f = open(log_path, "w")
        p = subprocess.Popen(self.exec_cmd(cmd), stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.lab.procs.append((p, f, log_path))
        return p

    def socket(self, family=socket.AF_INET, type=socket.SOCK_DGRAM, proto=0):
        """A socket that lives in this namespace (made by a thread that joined it)."""
        box = {}

        def make():
            try:
                fd = os.open("/run/netns/%s" % self.name, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
                box["sock"] = socket.socket(family, type, proto)
            except Exception as e:  # handed to the caller
                box["err"] = e

        t = threading.Thread(target=make)
        t.start()
        t.join(10)
        if "err" in box:
            raise box["err"]
        return box["sock"]

    def addrs(self, dev, family="-4"):
        """The addresses on dev as text (without prefix length)."""
        out = self.ip("-o", family, "addr", "show", "dev", dev).stdout
        res = []
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts or "inet6" in parts:
                i = parts.index("inet" if "inet" in parts else "inet6")
                res.append(parts[i + 1].split("/")[0])
        return res


class Lab:
    """Owns every namespace, process and file made by one test."""

    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.namespaces = []
        self.procs = []

    def ns(self, role):
        return Netns(self, role)

    def veth(self, a, a_if, b, b_if):
        """A veth pair a_if (in namespace a) <-> b_if (in namespace b), both up."""
        run(["ip", "link", "add", a_if, "netns", a.name, "type", "veth",
             "peer", "name", b_if, "netns", b.name])
        a.ip("link", "set", a_if, "up")
        b.ip("link", "set", b_if, "up")

    def stop(self, p, sig=signal.SIGTERM, timeout=5):
        """Stops one process started by popen (its whole session); returns its status."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        return p.returncode

    def log(self, p):
        for q, f, path in self.procs:
            if q is p:
                f.flush()
                with open(path, errors="replace") as g:
                    return g.read()
        return ""

    def close(self):
        errors = []
        for p, f, path in reversed(self.procs):
            try:
                self.stop(p)
            except Exception as e:
                errors.append(e)
            f.close()
        for n in reversed(self.namespaces):
            # nft tables and every interface die with their namespace.
            r = run(["ip", "netns", "del", n.name], check=False)
            if r.returncode != 0:
                errors.append(AssertionError("ip netns del %s: %s" % (n.name, r.stderr)))
        self.namespaces = []
        self.procs = []
        if errors:
            raise errors[0]


def tcp_listener_script():
    """Python source of a TCP listener: accepts and closes until killed (bounded)."""
    return ("import socket,sys,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\n"
            "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.bind(('0.0.0.0',int(sys.argv[1])));s.listen(16);s.settimeout(1)\n"
            "print('listening',flush=True)\n"
            "end=time.monotonic()+120\n"
            "while time.monotonic()<end:\n"
            "    try:\n"
            "        c,_=s.accept();c.close()\n"
            "    except socket.timeout:\n"
            "        pass\n")


STUN_SERVER = r'''
# A minimal RFC 5389 STUN server: answers every Binding request with the
# XOR-MAPPED-ADDRESS it came from (it ignores CHANGE-REQUEST). Exits after 120 s.
import socket, struct, sys, time
MAGIC = 0x2112A442
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
print("stun ready", flush=True)
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        data, (ip, port) = s.recvfrom(2048)
    except socket.timeout:
        continue
    if len(data) < 20:
        continue
    typ, _, magic = struct.unpack("!HHI", data[:8])
    if typ != 0x0001 or magic != MAGIC:
        continue
    xip = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, port ^ (MAGIC >> 16), xip)
    s.sendto(struct.pack("!HHI", 0x0101, len(attr), MAGIC) + data[8:20] + attr, (ip, port))
    print("mapped", ip, port, flush=True)
'''
