#!/usr/bin/env python3
"""Malformed-packet generator for tunstack's robustness test.

Run inside the test namespace: writes N packets straight onto the TUN device with an AF_PACKET
socket (so even broken IPv4 headers reach tunstack unmodified), drawn from a seeded PRNG, and
prints one JSON line: how many it sent, how many the kernel refused, and the count of each kind.
Only ever addressed at the test's own TUN device; bounded in count and time.
"""
import json
import random
import socket
import struct
import sys
import time

SRC = bytes([198, 18, 0, 1])
DST = bytes([198, 18, 0, 2])
OTHER = bytes([198, 18, 0, 77])


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, payload, src=SRC, dst=DST, flags_frag=0x4000, ihl=5, total=None, bad_csum=False, ttl=64, ident=0):
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, total & 0xFFFF, ident, flags_frag, ttl, proto, 0, src, dst)
    c = csum(hdr)
    if bad_csum:
        c ^= 0x5A5A
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def pseudo(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def udp(sport, dport, data, bad_csum=False, length=None):
    length = 8 + len(data) if length is None else length
    h = struct.pack("!HHHH", sport, dport, length & 0xFFFF, 0) + data
    c = csum(pseudo(SRC, DST, 17, len(h)) + h) or 0xFFFF
    if bad_csum:
        c ^= 0x1234
    return h[:6] + struct.pack("!H", c) + h[8:]


def tcp(sport, dport, seq, ack, flags, options=b"", data=b"", bad_csum=False, doff=None):
    doff = (20 + len(options)) // 4 if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 64240, 0, 0) + options + data
    c = csum(pseudo(SRC, DST, 6, len(h)) + h)
    if bad_csum:
        c ^= 0x0F0F
    return h[:16] + struct.pack("!H", c) + h[18:]


def icmp_echo(ident, seq, data, bad_csum=False):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    c = csum(h)
    if bad_csum:
        c ^= 0xFFFF
    return h[:2] + struct.pack("!H", c) + h[4:]


def make(kind, r):
    sport = r.randrange(1024, 65536)
    dport = r.randrange(1, 65536)
    data = r.randbytes(r.randrange(0, 64))
    if kind == "random-bytes":
        return r.randbytes(r.randrange(1, 1500))
    if kind == "ip-bad-checksum":
        return ipv4(17, udp(sport, dport, data), bad_csum=True)
    if kind == "ip-truncated":
        p = ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x02, data=data))
        return p[: r.randrange(1, len(p))]
    if kind == "ip-bad-ihl":
        return ipv4(17, udp(sport, dport, data), ihl=r.randrange(0, 5))
    if kind == "ip-total-too-long":
        p = udp(sport, dport, data)
        return ipv4(17, p, total=20 + len(p) + r.randrange(1, 500))
    if kind == "ip-evil-bit":
        return ipv4(17, udp(sport, dport, data), flags_frag=0x8000)
    if kind == "ip-fragment":
        return ipv4(17, udp(sport, dport, data), flags_frag=0x2000 | r.randrange(0, 100))
    if kind == "not-for-us":
        return ipv4(17, udp(sport, dport, data), dst=OTHER)
    if kind == "martian-source":
        src = r.choice([bytes([0, 0, 0, 0]), bytes([127, 0, 0, 1]), bytes([224, 0, 0, 5]), bytes([255, 255, 255, 255])])
        return ipv4(1, icmp_echo(1, 1, data), src=src)
    if kind == "unknown-protocol":
        return ipv4(r.choice([0, 41, 47, 50, 132, 253]), data)
    if kind == "udp-bad-checksum":
        return ipv4(17, udp(sport, dport, data, bad_csum=True))
    if kind == "udp-bad-length":
        return ipv4(17, udp(sport, dport, data, length=r.choice([0, 7, 8 + len(data) + 9])))
    if kind == "udp-valid":
        return ipv4(17, udp(sport, dport, data))
    if kind == "tcp-bad-checksum":
        return ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x02, bad_csum=True))
    if kind == "tcp-bad-data-offset":
        return ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x02, doff=r.choice([0, 1, 4, 15])))
    if kind == "tcp-bogus-options":
        opt = r.choice([b"\x02\x00\x05\xb4", b"\x03\x01\x07\x00", b"\x08\x30" + b"\x00" * 2, b"\x05\x01\x00\x00", b"\xfe\x00\x00\x00"])
        return ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x02, options=opt))
    if kind == "tcp-syn-rst":
        return ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x06))
    if kind == "tcp-valid-syn":
        return ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x02, options=b"\x02\x04\x05\xb4"))
    if kind == "icmp-bad-checksum":
        return ipv4(1, icmp_echo(r.randrange(65536), 1, data, bad_csum=True))
    if kind == "icmp-truncated":
        return ipv4(1, r.randbytes(r.randrange(0, 4)))
    if kind == "mutated":
        p = bytearray(ipv4(6, tcp(sport, dport, r.getrandbits(32), 0, 0x12, options=b"\x02\x04\x05\xb4\x01\x03\x03\x07", data=data)))
        for _ in range(r.randrange(1, 6)):
            p[r.randrange(len(p))] = r.randrange(256)
        return bytes(p)
    raise ValueError(kind)


KINDS = [
    "random-bytes", "ip-bad-checksum", "ip-truncated", "ip-bad-ihl", "ip-total-too-long", "ip-evil-bit",
    "ip-fragment", "not-for-us", "martian-source", "unknown-protocol", "udp-bad-checksum", "udp-bad-length",
    "udp-valid", "tcp-bad-checksum", "tcp-bad-data-offset", "tcp-bogus-options", "tcp-syn-rst",
    "tcp-valid-syn", "icmp-bad-checksum", "icmp-truncated", "mutated",
]


def main():
    dev, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    deadline = time.monotonic() + float(sys.argv[4] if len(sys.argv) > 4 else 60)
    burst = 64
    r = random.Random(seed)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    sent = refused = 0
    kinds = {}
    for i in range(count):
        if time.monotonic() > deadline:
            break
        kind = KINDS[i % len(KINDS)]
        pkt = make(kind, r)
        try:
            s.send(pkt)
            sent += 1
            kinds[kind] = kinds.get(kind, 0) + 1
        except OSError:
            refused += 1
        if i % burst == burst - 1:
            time.sleep(0.0005)  # let tunstack drain the device queue (500 packets deep)
    print(json.dumps({"sent": sent, "refused": refused, "kinds": kinds}))


if __name__ == "__main__":
    main()
