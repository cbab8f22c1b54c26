#!/usr/bin/env python3
"""tests/hostile_peers.py -- hostile peers for tests/hostile_test.sh.

    hostile_peers.py churn PORT N CONCURRENCY
        opens N connections and closes them, at most CONCURRENCY open at once
    hostile_peers.py slow PORT PEERS SECONDS
        PEERS connections each send a frame one byte a second (a 2-byte
        length of 64, then the payload), for SECONDS
    hostile_peers.py garbage PORT
        connections that send a length past the maximum frame (8192), the
        largest length (65535), a frame of random bytes, and a stream of
        random bytes; each says whether the server closed it
    hostile_peers.py plaintext PORT
        an HTTP request in clear to a TLS port

Each prints one JSON line of what happened.  Loopback only; every socket
has a timeout and every loop is bounded in count.  Stdlib only.
"""
import json
import os
import random
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


def connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def closed_by_server(s, within):
    """True when the server ends the connection (EOF or reset) within
    `within` seconds; anything it sends meanwhile is read and dropped."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def send_quietly(s, data):
    try:
        s.sendall(data)
        return True
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return False


def churn(port, n, concurrency):
    opened = failed = 0
    start = time.monotonic()
    while opened + failed < n:
        batch = []
        for _ in range(min(concurrency, n - opened - failed)):
            try:
                batch.append(connect(port))
                opened += 1
            except OSError:
                failed += 1
        for s in batch:
            s.close()
    return {"mode": "churn", "opened": opened, "failed": failed,
            "seconds": round(time.monotonic() - start, 2)}


def slow(port, peers, seconds):
    socks = [connect(port) for _ in range(peers)]
    frame = struct.pack(">H", 64) + bytes(64)
    sent = 0
    for i in range(min(seconds, len(frame))):
        for s in socks:
            send_quietly(s, frame[i:i + 1])
        sent += 1
        time.sleep(1.0)
    # A frame never completed: did the server hang up on them meanwhile?
    closed = sum(1 for s in socks if closed_by_server(s, 0.2))
    for s in socks:
        s.close()
    return {"mode": "slow", "peers": peers, "bytes_each": sent,
            "closed_by_server": closed}


def garbage(port):
    rnd = random.Random(8583)
    cases = {
        "length_past_max": struct.pack(">H", 8193) + bytes(100),
        "length_65535": b"\xff\xff" + bytes(100),
        "random_frame": struct.pack(">H", 200) + bytes(rnd.getrandbits(8) for _ in range(200)),
        "random_stream": bytes(rnd.getrandbits(8) for _ in range(65536)),
    }
    out = {"mode": "garbage"}
    for name, data in cases.items():
        s = connect(port)
        send_quietly(s, data)
        out[name] = "closed" if closed_by_server(s, 3.0) else "open"
        s.close()
    return out


def plaintext(port):
    s = connect(port)
    send_quietly(s, b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" + os.urandom(64))
    closed = closed_by_server(s, 5.0)
    s.close()
    return {"mode": "plaintext", "closed_by_server": closed}


def main(argv):
    if len(argv) < 3 or argv[1] not in ("churn", "slow", "garbage", "plaintext"):
        sys.stderr.write(__doc__)
        return 2
    mode, port, rest = argv[1], int(argv[2]), [int(a) for a in argv[3:]]
    if mode == "churn":
        result = churn(port, *rest)
    elif mode == "slow":
        result = slow(port, *rest)
    elif mode == "garbage":
        result = garbage(port)
    else:
        result = plaintext(port)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
