#!/usr/bin/env python3
"""Write a legacy pcap holding one long TCP session on port 3389.

    bench/make_single_session.py OUT SIZE_MB

A three-way handshake from 10.9.0.1:50000 to 10.9.0.2:3389, then the
server sends 1,448-byte segments (the client acknowledges every second
one) until the file reaches SIZE_MB * 10^6 bytes, then FIN both ways.
Sequence numbers and acknowledgements are consistent; checksums are 0
(not checked by rdptriage or by tshark by default). The payload is not
RDP: the session is one connection past the depth cap for almost all of
its bytes, which is what the memory of a long session is about.
"""
import struct
import sys

CLIENT = bytes([10, 9, 0, 1])
SERVER = bytes([10, 9, 0, 2])
CPORT, SPORT = 50000, 3389
MSS = 1448


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                     0, 0x4000, 64, 6, 0, src, dst)
    eth = b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + tcp + payload


def main():
    out, size = sys.argv[1], int(float(sys.argv[2]) * 1_000_000)
    payload = bytes(range(256)) * 6
    payload = payload[:MSS]
    t = 1_700_000_000_000_000  # microseconds
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        written = 24

        def put(data):
            nonlocal t, written
            t += 10
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000,
                                len(data), len(data)))
            f.write(data)
            written += 16 + len(data)

        cseq, sseq = 1000, 500000
        put(frame(CLIENT, SERVER, CPORT, SPORT, cseq, 0, 0x02))
        put(frame(SERVER, CLIENT, SPORT, CPORT, sseq, cseq + 1, 0x12))
        cseq += 1
        sseq += 1
        put(frame(CLIENT, SERVER, CPORT, SPORT, cseq, sseq, 0x10))
        n = 0
        while written < size:
            put(frame(SERVER, CLIENT, SPORT, CPORT, sseq, cseq, 0x18, payload))
            sseq += MSS
            n += 1
            if n % 2 == 0:
                put(frame(CLIENT, SERVER, CPORT, SPORT, cseq, sseq, 0x10))
        put(frame(SERVER, CLIENT, SPORT, CPORT, sseq, cseq, 0x11))
        put(frame(CLIENT, SERVER, CPORT, SPORT, cseq, sseq + 1, 0x11))
        put(frame(SERVER, CLIENT, SPORT, CPORT, sseq + 1, cseq + 1, 0x10))
    print(f"{out}: {written} bytes, {n} data segments")


if __name__ == "__main__":
    main()
