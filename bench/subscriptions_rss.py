#!/usr/bin/env python3
"""RSS of a running opendpma before, with and after N subscriptions
(issue 17 item 10). Loopback only, bounded: N watchers from one UDP
socket subscribe (auth off, limits lifted in the config the caller
starts the server with), every NOTIFY is answered, then every watcher
un-subscribes. Prints RSS (KiB) at each stage.
Usage: bench/subscriptions_rss.py PID SIP_PORT [N] [--keep]
--keep: stop once the N subscriptions are up (bench/subscriptions_restart.sh
then restarts the server and times their restore)."""
import re
import socket
import sys
import time

pid, port = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
keep = "--keep" in sys.argv[4:]
server = ("127.0.0.1", port)


def rss():
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("127.0.0.1", 0))
sock.settimeout(0.2)
local = sock.getsockname()
tags = {}


def subscribe(n, expires, cseq, to_tag=""):
    to = f";tag={to_tag}" if to_tag else ""
    return (
        f"SUBSCRIBE sip:2000@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bKrss{n}x{cseq};rport\r\n"
        f"From: <sip:w{n}@127.0.0.1>;tag=w{n}\r\nTo: <sip:2000@127.0.0.1>{to}\r\n"
        f"Call-ID: rss-{n}\r\nCSeq: {cseq} SUBSCRIBE\r\nEvent: presence\r\n"
        f"Contact: <sip:w{n}@{local[0]}:{local[1]}>\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def drain(until_quiet=1.0, deadline=120.0):
    """Answers NOTIFYs and records our dialogs' tags until quiet."""
    end = time.time() + deadline
    quiet_since = time.time()
    while time.time() < end and time.time() - quiet_since < until_quiet:
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            continue
        quiet_since = time.time()
        text = data.decode(errors="replace")
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        if head[0].startswith("SIP/2.0 200") and "SUBSCRIBE" in text:
            call = next(h for h in head if h.startswith("Call-ID:")).split(":", 1)[1].strip()
            to = next(h for h in head if h.startswith("To:"))
            tags[call] = to.split("tag=")[1].strip()
        elif head[0].startswith("NOTIFY"):
            keep = [h for h in head[1:] if h.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
            sock.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(), server)


print(f"RSS at start: {rss()} KiB")
for start in range(0, count, 500):
    for n in range(start, min(start + 500, count)):
        sock.sendto(subscribe(n, 3600, 1), server)
    drain(until_quiet=0.2, deadline=5)
drain()
print(f"RSS with {len(tags)} subscriptions: {rss()} KiB")
if keep:
    sys.exit(0 if len(tags) == count else 1)
for start in range(0, count, 500):
    for n in range(start, min(start + 500, count)):
        tag = tags.get(f"rss-{n}")
        if tag:
            sock.sendto(subscribe(n, 0, 2, tag), server)
    drain(until_quiet=0.05, deadline=5)
drain()
time.sleep(2)
print(f"RSS after they are gone: {rss()} KiB")
# Server transactions linger for Timer J (64*T1 = 32 s on UDP).
time.sleep(40)
print(f"RSS once their transactions ended too: {rss()} KiB")
