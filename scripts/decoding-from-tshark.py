#!/usr/bin/env python3
"""What tshark dissects in the set-up of RDP connections, one TSV row per stream.

Usage: decoding-from-tshark.py CAPTURE LABEL STREAM:PORT [STREAM:PORT ...]

STREAM is Wireshark's tcp.stream of a connection rdptriage reports, PORT its
server port. Two tshark passes over CAPTURE:
  A. RDP (X.224 negotiation, GCC client core data): plain on 3389,
     `-d tcp.port==P,tpkt` for other server ports;
  B. TLS handshake and the leaf certificate: `-d tcp.port==P,tls` for every
     server port (Wireshark 4.0 does not switch to TLS after X.224 by itself).
Values are normalised as tests/decode_vs_tshark.rs expects them: numbers as
0x-prefixed lower-case hex (protocols and layout 8 digits, versions and
cipher 4 digits), build and desktop size decimal, subject as its CN values
joined by ";", validity as UTC seconds since the epoch; "-" where tshark
shows nothing. The first occurrence in the stream counts.
"""
import calendar
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

COLUMNS = [
    "cookie", "requested", "selected", "failure", "ch_max_version",
    "sh_version", "sh_cipher", "cert_cn", "cert_not_before", "cert_not_after",
    "client_name", "client_build", "keyboard_layout", "desktop_width",
    "desktop_height",
]

RDP_FIELDS = [
    ("rdp.rt_cookie", "cookie"),
    ("rdp.negReq.requestedProtocols", "requested"),
    ("rdp.negReq.selectedProtocol", "selected"),
    ("rdp.negFailure.failureCode", "failure"),
    ("rdp.client.name", "client_name"),
    ("rdp.client.build", "client_build"),
    ("rdp.keyboardLayout", "keyboard_layout"),
    ("rdp.desktop.width", "desktop_width"),
    ("rdp.desktop.height", "desktop_height"),
]


def tshark(args):
    r = subprocess.run(["tshark"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, check=False)
    return r.stdout


def hexn(v, digits):
    return "0x%0*x" % (digits, int(v, 0))


def norm_rdp(col, v):
    if col == "cookie":
        # tshark shows the whole line: "Cookie: mstshash=user".
        v = v.rstrip("\r\n")
        v = re.sub(r"^Cookie: mstshash=", "", v)
        return v
    if col in ("requested", "selected", "failure", "keyboard_layout"):
        return hexn(v, 8)
    if col in ("client_build", "desktop_width", "desktop_height"):
        return str(int(v, 0))
    return v


def pass_rdp(capture, ports, rows):
    args = ["-r", capture]
    for p in sorted(ports):
        if p != 3389:
            args += ["-d", "tcp.port==%d,tpkt" % p]
    flt = " || ".join(f for f, _ in RDP_FIELDS)
    args += ["-Y", flt, "-T", "fields", "-E", "occurrence=f", "-E",
             "separator=/t", "-e", "tcp.stream"]
    for f, _ in RDP_FIELDS:
        args += ["-e", f]
    out = tshark(args).decode("utf-8", "replace")
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != len(RDP_FIELDS) + 1 or not parts[0].isdigit():
            continue
        row = rows.get(int(parts[0]))
        if row is None:
            continue
        for (_, col), v in zip(RDP_FIELDS, parts[1:]):
            if v != "" and row[col] == "-":
                row[col] = norm_rdp(col, v)


def time_of(s):
    """tshark's utcTime / generalizedTime text -> seconds since the epoch."""
    s = s.strip()
    m = re.match(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)", s)
    if m:
        return str(calendar.timegm(tuple(int(x) for x in m.groups())))
    for fmt in ("%b %d, %Y %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            core = re.sub(r"\.\d+", "", s).replace(" UTC", "").replace("Z", "")
            core = re.sub(r"\s+", " ", core)
            return str(calendar.timegm(time.strptime(core, fmt)))
        except ValueError:
            pass
    return "?" + s


def fields(el, name):
    return [f for f in el.iter("field") if f.get("name") == name]


def leaf_cert(cert):
    """CN values, notBefore, notAfter of one tls.handshake.certificate field."""
    tbs = fields(cert, "x509af.signedCertificate_element")
    if not tbs:
        return None
    tbs = tbs[0]
    cns = []
    for subj in fields(tbs, "x509af.subject"):
        for rdn in fields(subj, "x509if.RelativeDistinguishedName_item_element"):
            oid = [f.get("show") for f in fields(rdn, "x509if.oid")]
            if oid[:1] != ["2.5.4.3"]:
                continue
            for f in rdn.iter("field"):
                n = f.get("name", "")
                if n.startswith("x509sat.") and n != "x509sat.DirectoryString":
                    cns.append(f.get("show"))
                    break
        break
    times = []
    for which in ("x509af.notBefore", "x509af.notAfter"):
        t = "-"
        for el in fields(tbs, which):
            for f in el.iter("field"):
                if f.get("name") in ("x509af.utcTime", "x509af.generalizedTime"):
                    t = time_of(f.get("show"))
                    break
            break
        times.append(t)
    return (";".join(cns) if cns else "-", times[0], times[1])


def pass_tls(capture, ports, rows):
    args = ["-r", capture]
    for p in sorted(ports):
        args += ["-d", "tcp.port==%d,tls" % p]
    args += ["-Y", "tls.handshake.type==1 || tls.handshake.type==2 || "
             "tls.handshake.type==11", "-T", "pdml"]
    xml = tshark(args)
    if not xml.strip():
        return
    root = ET.fromstring(xml)
    for pkt in root.iter("packet"):
        stream = [f.get("show") for f in fields(pkt, "tcp.stream")]
        if not stream:
            continue
        row = rows.get(int(stream[0]))
        if row is None:
            continue
        for hs in fields(pkt, "tls.handshake"):
            types = [f.get("show") for f in hs if f.get("name") == "tls.handshake.type"]
            if not types:
                continue
            t = types[0]
            direct = {f.get("name"): f.get("show") for f in hs}
            svs = [int(f.get("show"), 0) for f in fields(hs, "tls.handshake.extensions.supported_version")]
            svs = [v for v in svs if v & 0x0a0a != 0x0a0a]  # GREASE
            legacy = direct.get("tls.handshake.version")
            if t == "1" and row["ch_max_version"] == "-":
                v = max(svs) if svs else (int(legacy, 0) if legacy else None)
                if v is not None:
                    row["ch_max_version"] = "0x%04x" % v
            elif t == "2" and row["sh_version"] == "-":
                v = svs[0] if svs else (int(legacy, 0) if legacy else None)
                if v is not None:
                    row["sh_version"] = "0x%04x" % v
                cs = direct.get("tls.handshake.ciphersuite")
                if cs:
                    row["sh_cipher"] = hexn(cs, 4)
            elif t == "11" and row["cert_cn"] == "-" and row["cert_not_before"] == "-":
                certs = fields(hs, "tls.handshake.certificate")
                if certs:
                    c = leaf_cert(certs[0])
                    if c:
                        row["cert_cn"], row["cert_not_before"], row["cert_not_after"] = c


def main():
    capture, label = sys.argv[1], sys.argv[2]
    rows, ports = {}, set()
    for a in sys.argv[3:]:
        s, p = a.split(":")
        rows[int(s)] = {c: "-" for c in COLUMNS}
        ports.add(int(p))
    if not rows:
        return
    pass_rdp(capture, ports, rows)
    pass_tls(capture, ports, rows)
    for s in sorted(rows):
        vals = [rows[s][c].replace("\t", " ").replace("\n", " ") or "-" for c in COLUMNS]
        print("\t".join([label, str(s)] + vals))


if __name__ == "__main__":
    main()
