#!/usr/bin/env python3
"""Writes tests/diff/dump.redis: DUMP and RESTORE of every type and
encoding, with payloads made by a real redis-server 7.0 embedded as
escaped strings (RESTORE of Redis's own bytes into both servers), crafted
payloads for the errors, and the options.

Usage: scripts/gen_dump_diff.py   (starts and stops its own redis-server)
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, free_port, resp, wait_port  # noqa: E402


def crc64(data, crc=0):
    """Redis's CRC-64 (Jones polynomial, reflected, no final xor)."""
    poly = 0x95AC9329AC4BC9B5
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def payload(body, version=10):
    head = body + version.to_bytes(2, "little")
    return head + crc64(head).to_bytes(8, "little")


def esc(b):
    out = []
    for c in b:
        if c == 0x22 or c == 0x5C or c < 0x20 or c > 0x7E:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"*":
            return [self._reply() for _ in range(int(line[1:]))]
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line[1:]

    def __call__(self, *args):
        self.s.sendall(resp(*args))
        return self._reply()


def words(cmd):
    return [a.encode() if isinstance(a, str) else a for a in cmd]


def line(cmd):
    return " ".join(esc(a) if (not a or any(c in b' "\\' or c < 0x20 or c > 0x7E for c in a))
                    else a.decode() for a in words(cmd))


# (name, setup commands, whether rizzler's DUMP bytes equal Redis's)
CASES = [
    ("int8", [["SET", "k", "12"]], True),
    ("int16", [["SET", "k", "1234"]], True),
    ("int32", [["SET", "k", "-123456789"]], True),
    ("int64", [["SET", "k", "12345678901234"]], True),
    ("not canonical int", [["SET", "k", "007"]], True),
    ("short string", [["SET", "k", "hello world"]], True),
    ("empty string", [["SET", "k", ""]], True),
    ("binary string", [["SET", "k", bytes(range(256))]], True),
    ("compressible string (LZF)", [["SET", "k", "abcabcabc" * 40 + "xyz" * 50]], True),
    ("incompressible long string", [["SET", "k", "q8Zr2Lk0Pw7Xc3Vb9Nm1Ah6Sd4Fg5Jt"]], True),
    ("appended string (raw)", [["SET", "k", "x"], ["APPEND", "k", "y" * 30]], True),
    ("small list", [["RPUSH", "k", "a", "b", "1", "-2", "300", "70000", "12345678901", "x" * 70, ""]], True),
    ("list of two nodes", [["RPUSH", "k"] + ["element-%04d" % i for i in range(1200)]], True),
    ("list with a big element", [["RPUSH", "k", "a", "b" * 9000, "c"]], True),
    ("intset", [["SADD", "k", "5", "1", "-100", "100000", "3"]], True),
    ("intset of 64-bit values", [["SADD", "k", "1", "9223372036854775807", "-9223372036854775808"]], True),
    ("hash listpack", [["HSET", "k", "f1", "v1", "f2", "2", "n", "-70000", "long", "z" * 60]], True),
    ("zset listpack", [["ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0", "e", "1e300", "f", "-3", "g"]], True),
    ("zset skiplist (many members)", [["ZADD", "k"] + sum([[str(i * 1.5), "m%d" % i] for i in range(140)], [])], True),
    ("zset skiplist (long member)", [["ZADD", "k", "1", "a", "2", "b" * 80]], True),
    ("geo set", [["GEOADD", "k", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]], True),
    # Hash tables iterate in hash order, which differs between the servers.
    ("set hashtable", [["SADD", "k", "a", "b", "c", "1"]], False),
    ("hash hashtable (many fields)", [["HSET", "k"] + sum([["f%d" % i, "v%d" % i] for i in range(140)], [])], False),
    ("hash hashtable (long value)", [["HSET", "k", "f", "v" * 70, "g", "1"]], False),
    ("set hashtable (many members)", [["SADD", "k"] + ["m%d" % i for i in range(600)]], False),
]

CHECKS = {
    "string": [["GET", "k2"], ["STRLEN", "k2"]],
    "list": [["LRANGE", "k2", "0", "-1"]],
    "set": [["!sort", "SMEMBERS", "k2"]],
    "hash": [["!sortpairs", "HGETALL", "k2"]],
    "zset": [["ZRANGE", "k2", "0", "-1", "WITHSCORES"]],
}


def main():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    wait_port(port, proc, "redis-server")
    r = Conn(port)
    out = ["# DUMP and RESTORE. Generated by scripts/gen_dump_diff.py from a real",
           "# redis-server 7.0: the RESTORE payloads below are Redis's own DUMP bytes.",
           ""]
    sample = None
    for name, setup, same in CASES:
        r("FLUSHALL")
        for cmd in setup:
            r(*cmd)
        p = r("DUMP", "k")
        kind = r("TYPE", "k").decode()
        sample = sample or p
        out.append(f"# {name}")
        out.append("DEL k k2")
        for cmd in setup:
            out.append(line(cmd))
        out.append("OBJECT ENCODING k")
        out.append("DUMP k" if same else "!type DUMP k")
        out.append(f"RESTORE k2 0 {esc(p)}")
        out.append("TYPE k2")
        out.append("OBJECT ENCODING k2")
        out.append("DEBUG DIGEST-VALUE k k2")
        for check in CHECKS[kind]:
            out.append(" ".join(check))
        if same:
            out.append("DUMP k2")
        out.append("")
    proc.terminate()
    proc.wait()

    good = sample  # the int8 string's payload
    body = good[:-10]
    out += [
        "# Errors, in Redis's order",
        "DEL k k2",
        "DUMP nokey",
        "DUMP",
        "DUMP a b",
        "RESTORE k 0",
        f"RESTORE k 0 {esc(good)}",
        f"RESTORE k 0 {esc(good)}",
        "GET k",
        f"RESTORE k abc {esc(good)}",
        f"RESTORE k2 abc {esc(good)}",
        f"RESTORE k2 -1 {esc(good)}",
        f"RESTORE k2 99999999999999999999 {esc(good)}",
        "RESTORE k2 0 short",
        "RESTORE k2 0 \"\"",
        "RESTORE k2 0 0123456789",
        f"RESTORE k2 0 {esc(good[:-1] + bytes([good[-1] ^ 1]))}",
        f"RESTORE k2 0 {esc(payload(body, 11))}",
        f"RESTORE k2 0 {esc(payload(body, 9))}",
        "EXISTS k2",
        f"RESTORE k2 0 {esc(payload(b''))}",
        f"RESTORE k2 0 {esc(payload(bytes([200]) + b'abc'))}",
        f"RESTORE k2 0 {esc(payload(bytes([2, 0])))}",
        f"RESTORE k2 0 {esc(payload(bytes([0, 5]) + b'ab'))}",
        f"RESTORE k2 0 {esc(payload(bytes([0, 0x40])))}",
        f"RESTORE k2 0 {esc(payload(bytes([2, 2, 1, ord('a'), 1, ord('a')])))}",
        f"RESTORE k2 0 {esc(payload(bytes([0, 1]) + b'a' + b'trailing'))}",
        "GET k2",
        "DEL k2",
        f"RESTORE k2 0 {esc(payload(bytes([15, 0])))}",
        f"RESTORE k2 0 {esc(payload(bytes([6, 0])))}",
        f"RESTORE k2 0 {esc(good)} BOGUS",
        f"RESTORE k2 0 {esc(good)} IDLETIME",
        f"RESTORE k2 0 {esc(good)} IDLETIME x",
        f"RESTORE k2 0 {esc(good)} IDLETIME -1",
        f"RESTORE k2 0 {esc(good)} FREQ",
        f"RESTORE k2 0 {esc(good)} FREQ x",
        f"RESTORE k2 0 {esc(good)} FREQ -1",
        f"RESTORE k2 0 {esc(good)} FREQ 256",
        f"RESTORE k2 0 {esc(good)} IDLETIME 1 FREQ 1",
        f"RESTORE k2 0 {esc(good)} FREQ 1 IDLETIME 1",
        f"RESTORE k 0 {esc(good)} BOGUS",
        f"RESTORE k -1 {esc(good)} REPLACE",
        "EXISTS k2",
        "",
        "# REPLACE, TTLs and ABSTTL",
        "SET k old",
        f"RESTORE k 0 {esc(good)} REPLACE",
        "GET k",
        "TTL k",
        f"RESTORE k 100000 {esc(good)} REPLACE",
        "TTL k",
        f"RESTORE k 4102444800000 {esc(good)} REPLACE ABSTTL",
        "EXPIRETIME k",
        f"RESTORE k 0 {esc(good)} replace absttl",
        "TTL k",
        f"RESTORE k 1 {esc(good)} REPLACE ABSTTL",
        "EXISTS k",
        f"RESTORE k 1 {esc(good)} ABSTTL",
        "EXISTS k",
        f"RESTORE k 1000 {esc(good)} ABSTTL",
        "EXISTS k",
        "",
        "# IDLETIME and FREQ set the access clock as the policy reads it",
        f"RESTORE k 0 {esc(good)} IDLETIME 1000",
        "OBJECT IDLETIME k",
        f"RESTORE k 0 {esc(good)} REPLACE IDLETIME 0",
        "OBJECT IDLETIME k",
        f"RESTORE k 0 {esc(good)} REPLACE FREQ 100",
        "OBJECT FREQ k",
        "CONFIG SET maxmemory-policy allkeys-lfu",
        f"RESTORE k 0 {esc(good)} REPLACE FREQ 100",
        "OBJECT FREQ k",
        f"RESTORE k 0 {esc(good)} REPLACE IDLETIME 1000",
        "OBJECT FREQ k",
        f"RESTORE k 0 {esc(good)} REPLACE FREQ 0",
        "OBJECT FREQ k",
        f"RESTORE k 0 {esc(good)} REPLACE FREQ 255 ABSTTL",
        "OBJECT FREQ k",
        "CONFIG SET maxmemory-policy noeviction",
        f"RESTORE k 0 {esc(good)} REPLACE IDLETIME 5",
        "OBJECT IDLETIME k",
        "",
        "# Wrong types and DUMP of every type round trip through RESTORE",
        "RPUSH l a b c",
        "DUMP l",
        "DEL l2",
        "!ignore HELLO 3",
        "DUMP k",
        "DUMP nokey",
        "!ignore HELLO 2",
    ]
    path = ROOT / "tests" / "diff" / "dump.redis"
    path.write_text("\n".join(out) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
