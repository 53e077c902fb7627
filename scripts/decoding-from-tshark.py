#!/usr/bin/env python3
"""What tshark dissects in the set-up of RDP connections, one TSV row per stream.

Usage: decoding-from-tshark.py CAPTURE LABEL STREAM:PORT [STREAM:PORT ...]

STREAM is Wireshark's tcp.stream of a connection rdptriage reports, PORT its
server port. Two tshark passes over CAPTURE:
  A. RDP (X.224 negotiation, GCC client core data): plain on 3389,
     `-d tcp.port==P,tpkt` for other server ports;
  B. TLS handshake and the leaf certificate: `-d tcp.port==P,tls` for every
     server port (Wireshark 4.0 does not switch to TLS after X.224 by itself).
  C. The TLS history: every record of the stream in order, as the letters
     of Zeek's ssl_history (the clear handshake messages by type, `i`
     ChangeCipherSpec, `l` a clear alert; upper case from the client).
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
    "desktop_height", "cert_version", "cert_key_alg", "cert_exponent",
    "cert_ca", "cert_path_len", "alpn", "tls_history",
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


def leaf_details(cert):
    """X.509 version (1-3), the key's algorithm OID, RSA exponent, and
    basicConstraints cA / pathLenConstraint of one certificate field."""
    out = {"cert_version": "-", "cert_key_alg": "-", "cert_exponent": "-",
           "cert_ca": "-", "cert_path_len": "-"}
    tbs = fields(cert, "x509af.signedCertificate_element")
    if not tbs:
        return out
    tbs = tbs[0]
    v = fields(tbs, "x509af.version")
    # No version field: the DEFAULT v1 (RFC 5280 4.1).
    out["cert_version"] = str(int(v[0].get("show")) + 1) if v else "1"
    for spki in fields(tbs, "x509af.subjectPublicKeyInfo_element"):
        alg = fields(spki, "x509af.algorithm.id")
        if alg:
            # "Algorithm Id: 1.2.840.113549.1.1.1 (rsaEncryption)": the
            # name when tshark knows one, else the dotted OID.
            m = re.search(r"\(([^()]+)\)$", alg[0].get("showname", ""))
            out["cert_key_alg"] = m.group(1) if m else alg[0].get("show")
        e = fields(spki, "pkcs1.publicExponent")
        if e:
            out["cert_exponent"] = e[0].get("show")
        break
    for bc in fields(tbs, "x509ce.BasicConstraintsSyntax_element"):
        ca = fields(bc, "x509ce.cA")
        # cA is DEFAULT FALSE (RFC 5280 4.2.1.9): absent means false.
        out["cert_ca"] = "true" if ca and ca[0].get("show") in ("1", "True") else "false"
        pl = fields(bc, "x509ce.pathLenConstraint")
        if pl:
            out["cert_path_len"] = pl[0].get("show")
        break
    return out


HISTORY = {0: "h", 1: "c", 2: "s", 3: "v", 4: "t", 5: "e", 6: "j", 8: "o",
           11: "x", 12: "k", 13: "r", 14: "n", 15: "y", 16: "g", 20: "f",
           21: "w", 22: "u", 23: "a", 24: "p", 254: "m"}
# RFC 8446 4.1.3: the random of a HelloRetryRequest.
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"


def pass_history(capture, ports, rows):
    args = ["-r", capture]
    for p in sorted(ports):
        args += ["-d", "tcp.port==%d,tls" % p]
    args += ["-Y", "tls.record", "-T", "pdml"]
    xml = tshark(args)
    if not xml.strip():
        return
    hist = {}
    for pkt in ET.fromstring(xml).iter("packet"):
        stream = [f.get("show") for f in fields(pkt, "tcp.stream")]
        dst = [f.get("show") for f in fields(pkt, "tcp.dstport")]
        if not stream or not dst or int(stream[0]) not in rows:
            continue
        s = int(stream[0])
        client = int(dst[0]) == rows[s]["_port"]
        for rec in fields(pkt, "tls.record"):
            ct = [f.get("show") for f in rec if f.get("name") == "tls.record.content_type"]
            ct = int(ct[0]) if ct else None
            letters = []
            if ct == 20:
                letters.append("i")
            elif ct == 21 and fields(rec, "tls.alert_message.desc"):
                letters.append("l")
            elif ct == 22:
                for hs in fields(rec, "tls.handshake"):
                    t = [f.get("show") for f in hs if f.get("name") == "tls.handshake.type"]
                    if not t:
                        continue
                    t = int(t[0])
                    rnd = [f.get("value") for f in fields(hs, "tls.handshake.random")]
                    if t == 2 and rnd and rnd[0] == HRR_RANDOM:
                        letters.append("j")
                    else:
                        letters.append(HISTORY.get(t, "z"))
            h = "".join(x.upper() if client else x for x in letters)
            hist[s] = hist.get(s, "") + h
    for s, h in hist.items():
        rows[s]["tls_history"] = h


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
                alpn = [f.get("show") for f in fields(hs, "tls.handshake.extensions_alpn_str")]
                if alpn:
                    row["alpn"] = alpn[0]
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
                    row.update(leaf_details(certs[0]))


def main():
    capture, label = sys.argv[1], sys.argv[2]
    rows, ports = {}, set()
    for a in sys.argv[3:]:
        s, p = a.split(":")
        rows[int(s)] = {c: "-" for c in COLUMNS}
        rows[int(s)]["_port"] = int(p)
        ports.add(int(p))
    if not rows:
        return
    pass_rdp(capture, ports, rows)
    pass_tls(capture, ports, rows)
    pass_history(capture, ports, rows)
    for s in sorted(rows):
        vals = [rows[s][c].replace("\t", " ").replace("\n", " ") or "-" for c in COLUMNS]
        print("\t".join([label, str(s)] + vals))


if __name__ == "__main__":
    main()
