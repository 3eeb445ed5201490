#!/usr/bin/env python3
"""seeds.py - writes the hand-written seed corpora fuzz/corpus/<target>/.

Each seed is named for what it is; the header bytes follow the layout each
target's comment describes. Run from the top of the tree: python3 fuzz/seeds.py
(it rewrites only the files it names; the corpora are committed).
"""
import os
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(target, name, data):
    d = os.path.join(TOP, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_addr: mode byte (0 parse, 1 set, 2 raw nk_addr, 3 pair), material --
def addr_seeds():
    parse = {
        "v4": b"127.0.0.1:80",
        "v4-port0": b"0.0.0.0:0",
        "v4-port-max": b"255.255.255.255:65535",
        "v4-port-too-big": b"1.2.3.4:65536",
        "v4-port-6-digits": b"1.2.3.4:000080",
        "v4-short-form": b"127.1:8080",
        "v4-hex-octal": b"0x7f.0.0.01:22",
        "v4-bracketed": b"[10.0.0.1]:443",
        "v6-loopback": b"[::1]:80",
        "v6-full": b"[2001:0db8:0000:0000:0000:ff00:0042:8329]:65535",
        "v6-mapped": b"[::ffff:192.0.2.1]:53",
        "v6-scope-name": b"[fe80::1%lo]:5000",
        "v6-scope-number": b"[fe80::abcd%1]:9",
        "v6-no-brackets": b"::1:80",
        "no-port": b"1.2.3.4",
        "empty-port": b"1.2.3.4:",
        "empty-host": b":80",
        "name-not-numeric": b"localhost:80",
        "unclosed-bracket": b"[::1:80",
        "junk-after-bracket": b"[::1]x80",
        "sign-in-port": b"1.2.3.4:+80",
        "long-host": b"1" * 300 + b":1",
        # Found by fuzz_addr: glibc takes "*" for "no host" (loopback).
        "star": b"*:80",
        # Found by fuzz_addr: a scope on a global address formatted as a name.
        "v6-global-scope": b"[2001:db8::1%1]:80",
    }
    for name, text in parse.items():
        write("fuzz_addr", "parse-" + name, b"\x00" + text)
    # nk_addr_set: 3 port bytes (u16, low 2 bits of the third) minus 65536.
    for name, ip, port in [("v4", b"192.0.2.7", 80), ("v6", b"2001:db8::7", 443),
                           ("v6-scope", b"fe80::7%lo", 1), ("port-neg", b"1.2.3.4", -1),
                           ("port-big", b"1.2.3.4", 70000), ("bad", b"1.2.3.4.5", 1),
                           ("star", b"*", 80)]:
        v = port + 65536
        write("fuzz_addr", "set-" + name, b"\x01" + struct.pack(">HB", v & 0xFFFF, v >> 16) + ip)
    # Raw nk_addr: shape byte (family choice, len choice), 128 bytes of storage, len, cap.
    sin = struct.pack("=H", 2) + struct.pack(">H", 8080) + bytes([127, 0, 0, 1]) + bytes(8)
    sin6 = (struct.pack("=H", 10) + struct.pack(">H", 443) + struct.pack(">I", 0x12345)
            + bytes(15) + b"\x01" + struct.pack("=I", 1))
    mapped = (struct.pack("=H", 10) + struct.pack(">H", 53) + bytes(4)
              + bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1]) + bytes(4))
    for name, shape, body, tail in [
            ("v4", 0 | 0 << 3, sin, b""), ("v6-scope", 1 | 1 << 3, sin6, b""),
            ("v6-mapped", 1 | 2 << 3, mapped, b""),
            ("unix", 2 | 2 << 3, b"", b""), ("v4-short-len", 0 | 3 << 3, sin, b"\x00\x08"),
            ("v6-huge-len", 1 | 7 << 3, sin6, b"\x03\xe8\x00"),
            ("v4-huge-len", 0 | 4 << 3, sin, b"\x04\x00")]:
        storage = (body + bytes(128))[:128]
        write("fuzz_addr", "raw-" + name, bytes([2, shape]) + storage + tail + b"\x00\x10")
    for name, a, b in [("same-v4", b"1.2.3.4:5", b"001.2.3.4:05"),
                       ("v4-vs-mapped", b"1.2.3.4:5", b"[::ffff:1.2.3.4]:5"),
                       ("scopes", b"[fe80::1%lo]:5", b"[fe80::1%1]:5"),
                       ("ports", b"[::1]:5", b"[::1]:6")]:
        write("fuzz_addr", "pair-" + name, b"\x03" + a + b"\n" + b)


# ---- fuzz_line: flags, 3 caps, 3 chunk sizes, 2 op bytes, then the stream ---
def line_seeds():
    def hdr(flags, caps, chunks, ops=0):
        return bytes([flags]) + bytes(caps) + bytes(chunks) + struct.pack(">H", ops)
    lines = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    seeds = {
        "nonblock-lines-1byte-chunks": hdr(0, [62, 62, 62], [1, 1, 1]) + lines,
        "nonblock-mixed-caps": hdr(0, [0, 3, 14], [5, 7, 3]) + b"a\nbb\nccc\ndddd\n\n\n" * 3,
        "block-one-write": hdr(2, [98, 98, 98], [0, 0, 0]) + lines * 4,
        "timeout-chunks": hdr(3, [30, 30, 30], [4, 9, 2]) + b"hello\nworld\nno newline at end",
        "cap2-every-byte": hdr(0, [0, 0, 0], [3, 3, 3]) + b"ab\ncd\n\n",
        "exact-fit-cap": hdr(0, [4, 5, 6], [64, 64, 64]) + b"12345\n123456\n1234567\n",
        "long-line-past-readahead": hdr(2, [250, 2, 100], [0, 0, 0]) + b"x" * 9000 + b"\n" + b"y\n",
        "long-line-chunked": hdr(0, [240, 40, 255], [200, 1, 0]) + b"z" * 12000 + b"\nend\n",
        "no-newline-at-all": hdr(0, [10, 10, 10], [3, 3, 3]) + b"abcdefghijklmnopqrstuvwxyz",
        "empty-stream": hdr(0, [10, 10, 10], [1, 1, 1]),
        "only-newlines": hdr(2, [0, 1, 2], [0, 0, 0]) + b"\n" * 40,
        "crlf-and-nul": hdr(0, [20, 20, 20], [2, 5, 11]) + b"a\x00b\r\n\x00\r\n\r\r\n",
        "selector-epoll": hdr(4, [20, 5, 60], [7, 13, 1]) + b"one\ntwo\nthree\nfour\nfive\n" * 3,
        "selector-poll": hdr(4 | 8, [20, 5, 60], [7, 13, 1]) + b"one\ntwo\nthree\nfour\nfive\n" * 3,
        "recv-mixed-nonblock": hdr(16, [12, 3, 40], [5, 2, 17], 0xA5A5) + lines * 3,
        "recv-mixed-block": hdr(2 | 16, [12, 3, 40], [0, 0, 0], 0x5A5A) + lines * 3,
        "recv-mixed-selector": hdr(4 | 16, [12, 3, 40], [5, 2, 17], 0x3C3C) + lines * 3,
        "recv-mixed-timeout": hdr(3 | 16, [7, 9, 11], [6, 6, 6], 0xFFFF) + b"partial\nlines\nhere",
    }
    for name, data in seeds.items():
        write("fuzz_line", name, data)


# ---- fuzz_chat: option byte, then actions (fuzz/fuzz_chat.c) -------------------
def chat_seeds():
    def opt(line=3, queue=3, notices=True, small_rcv=False, small_snd=False, stop=False):
        return bytes([(0 if notices else 1) | line << 1 | queue << 3 | small_rcv << 5
                      | small_snd << 6 | stop << 7])
    connect = b"\x00"

    def send(who, data, leave=False):
        # One action takes at most 2048 bytes: longer data is several sends
        # (the last one shuts down writing when leave is set).
        out = b""
        while len(data) > 2048:
            out += send(who, data[:2048])
            data = data[2048:]
        act = who << 3 | leave << 7
        if len(data) <= 256:
            return out + bytes([2 | act, len(data) - 1]) + data
        return out + bytes([4 | act]) + struct.pack(">H", len(data) - 1) + data

    def toggle(who):
        return bytes([5 | who << 3])

    def leave(who):
        return bytes([6 | who << 3])

    def reset(who):
        return bytes([7 | who << 3])

    two = connect + send(0, b"alice\n") + connect + send(1, b"bob\n")
    flood = b"".join(b"line %d of a flood\n" % i for i in range(150))
    seeds = {
        "two-talk": opt() + two + send(0, b"hi bob\n") + send(1, b"hi alice\r\n") + leave(0)
        + leave(0),
        "three-talk-no-notices": opt(notices=False) + two + connect + send(2, b"carol\n")
        + send(1, b"one\ntwo\n\nthree\n") + send(2, b"x\n") + leave(1),
        "names-default-and-cut": opt() + connect + send(0, b"\n") + connect
        + send(1, b"a-name-longer-than-thirty-two-bytes-kept\n") + connect + send(2, b"cr\r\n")
        + send(0, b"hello\n") + send(1, b"hey\n"),
        "name-over-max-line": opt(line=0) + connect + send(0, b"abcdefghij\n") + connect
        + send(1, b"b\n") + send(0, b"x\n"),
        "cut-lines-max4": opt(line=0) + two + send(0, b"12345\n123456\n1234567\n12\r\n")
        + send(1, b"abcdefgh") + send(1, b"ijkl\nm\n") + send(0, b"four\n"),
        "cut-lines-max16": opt(line=1) + two + send(0, b"x" * 40 + b"\n" + b"y" * 17 + b"\r\n"),
        "split-line-many-sends": opt() + two + send(0, b"par") + send(0, b"tial li")
        + send(0, b"ne\nand more\n"),
        "eof-mid-line": opt() + two + send(0, b"no newline") + leave(0) + send(0, b"after\n"),
        "eof-mid-name": opt() + connect + connect + send(0, b"x\n") + send(1, b"half-name")
        + leave(1),
        "eof-before-name": opt() + connect + connect + send(0, b"x\n") + leave(1),
        "reset-mid-line": opt() + two + send(1, b"lost") + reset(1) + send(0, b"still here\n"),
        "reset-before-name": opt() + connect + connect + send(0, b"x\n") + reset(1),
        "slow-reader-dropped": opt(queue=0, small_rcv=True, small_snd=True) + two + connect
        + send(2, b"carol\n") + toggle(1)
        + send(0, (b"a fairly long line of chat to fill a queue\n" * 40))
        + send(0, (b"b" * 200 + b"\n") * 10) + toggle(1) + send(2, b"after\n"),
        "slow-reader-recovers": opt(queue=3, small_rcv=True) + two + toggle(1)
        + send(0, b"q\n" * 100) + toggle(1) + send(0, b"done\n"),
        "many-lines-one-turn": opt(line=2) + two + send(0, b"l\n" * 200),
        "room-stops": opt(stop=True) + two + connect + send(0, b"bye all\n") + send(2, b"late"),
        "six-clients": opt() + (connect + send(0, b"n\n")) * 6 + send(3, b"to all\n")
        + leave(5) + leave(0),
        "nul-and-binary": opt() + connect + send(0, b"n\x00ul\n") + connect
        + send(1, b"\x00\n") + send(1, b"\xff\xfe\x00bin\n") + send(0, b"\r\r\n"),
        # Flow control: small queues and buffers, so that a flood backlogs its
        # readers and the sender is paused and resumed many times.
        "flow-paused-resumed": opt(line=2, queue=0, small_rcv=True, small_snd=True) + two + connect
        + send(2, b"carol\n") + send(0, flood) + send(1, b"after the flood\n"),
        "flow-leave-while-paused": opt(line=2, queue=0, small_rcv=True, small_snd=True) + two
        + connect + send(2, b"carol\n") + send(0, flood + b"and bye", leave=True)
        + send(1, b"she left\n"),
        "flow-non-reader-grace": opt(line=2, queue=1, small_rcv=True, small_snd=True) + two
        + connect + send(2, b"carol\n") + toggle(1) + send(0, flood) + toggle(1)
        + send(2, b"bob is gone\n"),
        "flow-sender-behind": opt(line=0, queue=0, small_rcv=True, small_snd=True) + two
        + toggle(0) + send(0, b"a line too long for four bytes\n" * 60) + send(1, b"ok\n"),
    }
    for name, data in seeds.items():
        write("fuzz_chat", name, data)


# ---- fuzz_http: option byte, then the response (or the builder's material) -----
def http_seeds():
    def opt(built=False, repr_=False, line=3, body=3, headers=3):
        return bytes([built | repr_ << 1 | line << 2 | body << 4 | headers << 6])
    ok = b"HTTP/1.1 200 OK\r\n"
    raw = {
        "content-length": ok + b"Content-Length: 5\r\n\r\nhello",
        "content-length-lf-only": b"HTTP/1.0 200 OK\nContent-Length: 3\n\nabcEXTRA",
        "chunked": ok + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n"
        b"0\r\nTrailer: t\r\n\r\n",
        "chunked-upper-hex-blanks": ok + b"transfer-encoding: gzip, chunked\r\n\r\n00A \t\r\n"
        b"0123456789\r\n0\r\n\r\n",
        "chunked-and-length": ok + b"Content-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\nx\r\n0\r\n\r\n",
        "until-close": ok + b"Server: t\r\n\r\nbody until the server closes\x00\xff",
        "other-coding-until-close": ok + b"Transfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n"
        b"longer than two",
        "interim-100": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
        + ok + b"Content-Length: 2\r\n\r\nok",
        "too-many-interim": b"HTTP/1.1 100 Continue\r\n\r\n" * 7 + ok + b"\r\n",
        "no-body-204": b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nignored",
        "no-body-304": b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        "status-no-reason": b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
        "bad-status": b"HTTP/1.1 20 OK\r\n\r\n",
        "bad-version": b"HTTPS/1.1 200 OK\r\n\r\n",
        "empty": b"",
        "only-status": ok,
        "bad-content-length": ok + b"Content-Length: -1\r\n\r\n",
        "content-length-overflow": ok + b"Content-Length: 99999999999999999999999\r\n\r\n",
        "conflicting-lengths": ok + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "body-larger-than-max": ok + b"Content-Length: 2000000\r\n\r\nshort",
        "short-body": ok + b"Content-Length: 100\r\n\r\nshort",
        "chunk-size-overflow": ok + b"Transfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffffff\r\n",
        "chunk-size-huge": ok + b"Transfer-Encoding: chunked\r\n\r\nfffffff\r\nab",
        "chunk-bad-size": ok + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        "chunk-no-crlf-after-data": ok + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
        "chunked-eof-in-trailers": ok + b"Transfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n",
        "folded-header": ok + b"A: b\r\n  c\r\n\r\n",
        "header-no-colon": ok + b"nocolon\r\n\r\n",
        "header-empty-name": ok + b": v\r\n\r\n",
        "long-line": ok + b"X: " + b"v" * 9000 + b"\r\n\r\n",
        "eof-in-headers": ok + b"A: b\r\n",
        "nul-in-headers": ok + b"A: b\x00c\r\nContent-Length: 1\r\n\r\nz",
    }
    for name, data in raw.items():
        write("fuzz_http", "raw-" + name, opt() + data)
    write("fuzz_http", "raw-repr-binary", opt(repr_=True) + ok + b"Content-Length: 8\r\n\r\n"
          + b"'\"\\\t\n\r\x00\xff")
    write("fuzz_http", "raw-small-limits", opt(line=0, body=1, headers=0) + ok + b"A: b\r\nC: d\r\n\r\n")
    # Built responses: the material is read as decisions (fuzz/fuzz_http.c).
    for name, o, material in [
            ("built-default", opt(built=True), bytes(range(256)) * 2),
            ("built-repr", opt(built=True, repr_=True), bytes(range(255, -1, -1)) * 2),
            ("built-chunked", opt(built=True), b"\x01\x00\x00\x07\x00\x80" + b"\x01" * 40
             + b"chunked body bytes " * 20),
            ("built-small-limits", opt(built=True, line=1, body=1, headers=1), b"\x05" * 300)]:
        write("fuzz_http", name, o + material)


TARGETS = {"fuzz_addr": addr_seeds, "fuzz_line": line_seeds, "fuzz_chat": chat_seeds,
           "fuzz_http": http_seeds}

if __name__ == "__main__":
    for t in sys.argv[1:] or TARGETS:
        TARGETS[t]()
