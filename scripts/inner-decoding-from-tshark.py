#!/usr/bin/env python3
"""What tshark dissects inside the TLS of RDP connections it can decrypt.

Usage: inner-decoding-from-tshark.py CAPTURE LABEL KEY_FILE KEY_LABEL

tshark decrypts with the server's RSA key
(`-o tls.keys_list:0.0.0.0,3389,tpkt,KEY -d tcp.port==3389,tls`), a key
log (KEY ending in `.keys`: `-o tls.keylog_file:KEY`) or, with KEY `-`,
the secrets the pcapng carries, and
dissects CredSSP, NTLMSSP, T.125/T.124 and RDP. For every TCP stream and
direction this prints one TSV row: capture label, key label, stream,
direction (to_server / to_client), the selected protocol of the
RDP_NEG_RSP as tshark reads it without keys (`-` when the capture holds
none), the NTLM AUTHENTICATE user, domain and workstation (`-` when
none), the OS versions (major.minor.build) of the NTLM messages' VERSION
fields in order (the server's is its CHALLENGE's), the Client Info
`domain\\user` (`rdp.domain`, `rdp.userName`; `-` when none), the number of fast-path PDUs (each
`rdp.fastpath.action`), and the sequence of PDUs, in stream order,
in this vocabulary (shared with tests/inner_vs_tshark.rs):

  tsrequest:vN[:ntlmT][:pubkeyauth][:authinfo][:error=0xXXXXXXXX][:nonce]
  connect-initial, connect-response            (t125.ConnectMCSPDU 101/102)
  erect-domain-request, disconnect-provider-ultimatum, attach-user-request,
  attach-user-confirm, channel-join-request, channel-join-confirm
                                               (t124.DomainMCSPDU 1/8/10/11/14/15)
  client-info                                  (rdp.clientInfoPDU)
  licensing:0xNN                               (rdp.bMsgType)
  demand-active, confirm-active, deactivate-all, server-redirection
                                               (rdp.pduType.type 1/3/6/10)
  set-error-info, save-session-info            (rdp.pduType2 0x2f/0x26)
  fast-path                                    (the first fast-path PDU only)

Nothing else tshark shows is compared (synchronize, control and font
PDUs, virtual channels, fast-path updates): the decoder does not report
them either.
"""

import json
import subprocess
import sys

DOMAIN_PDUS = {
    1: "erect-domain-request",
    8: "disconnect-provider-ultimatum",
    10: "attach-user-request",
    11: "attach-user-confirm",
    14: "channel-join-request",
    15: "channel-join-confirm",
}
SHARE_CONTROL = {1: "demand-active", 3: "confirm-active", 6: "deactivate-all", 10: "server-redirection"}
SHARE_DATA = {0x2F: "set-error-info", 0x26: "save-session-info"}


def num(v):
    v = v[0] if isinstance(v, list) else v
    return int(v, 0)


def pairs(node):
    """The (key, value) pairs of a JSON object kept as a list, in order."""
    return node if isinstance(node, list) and all(isinstance(p, tuple) for p in node) else []


def find_all(node, key):
    out = []
    for k, v in pairs(node):
        if k == key:
            out.append(v)
        out.extend(find_all(v, key))
    return out


def tsrequest_token(node):
    version = find_all(node, "credssp.version")
    tok = "tsrequest:v%d" % num(version[0]) if version else "tsrequest:v?"
    mt = find_all(node, "ntlmssp.messagetype")
    if mt:
        tok += ":ntlm%d" % num(mt[0])
    for key, name in (("credssp.pubKeyAuth", "pubkeyauth"), ("credssp.authInfo", "authinfo")):
        if find_all(node, key):
            tok += ":" + name
    err = find_all(node, "credssp.errorCode")
    if err:
        tok += ":error=0x%08x" % (num(err[0]) & 0xFFFFFFFF)
    if find_all(node, "credssp.clientNonce"):
        tok += ":nonce"
    return tok


def walk(node, tokens, ntlm, fast_path_seen):
    for k, v in pairs(node):
        if k == "credssp.TSRequest_element":
            tokens.append(tsrequest_token(v))
            for f, slot in (("ntlmssp.auth.username", 0), ("ntlmssp.auth.domain", 1),
                            ("ntlmssp.auth.hostname", 2)):
                for val in find_all(v, f):
                    # tshark's NTLMSSP dissector shows a zero-length name
                    # as "NULL" (dissect_ntlmssp_string): no name, "-".
                    ntlm[slot] = "-" if val == "NULL" else val
            major, minor, build = (find_all(v, "ntlmssp.version." + f) for f in ("major", "minor", "build_number"))
            if major and minor and build:
                ntlm[3].append("%d.%d.%d" % (num(major[0]), num(minor[0]), num(build[0])))
            continue
        if k == "t125.ConnectMCSPDU":
            tokens.append({101: "connect-initial", 102: "connect-response"}.get(num(v), "connect-%s" % v))
        elif k == "t124.DomainMCSPDU" and num(v) in DOMAIN_PDUS:
            tokens.append(DOMAIN_PDUS[num(v)])
        elif k == "rdp.clientInfoPDU":
            tokens.append("client-info")
            ntlm[4] = "\\"
        elif k in ("rdp.domain", "rdp.userName") and ntlm[4] != "-":
            dom, user = ntlm[4].split("\\", 1)
            ntlm[4] = "%s\\%s" % ((v, user) if k == "rdp.domain" else (dom, v))
        elif k == "rdp.bMsgType":
            tokens.append("licensing:0x%02x" % num(v))
        elif k == "rdp.pduType.type" and num(v) in SHARE_CONTROL:
            tokens.append(SHARE_CONTROL[num(v)])
        elif k == "rdp.pduType2" and num(v) in SHARE_DATA:
            tokens.append(SHARE_DATA[num(v)])
        elif k == "rdp.fastpath.action":
            if not fast_path_seen[0]:
                tokens.append("fast-path")
            fast_path_seen[0] += 1
        walk(v, tokens, ntlm, fast_path_seen)


def secret_args(key):
    """tshark's option for the secrets: a key log (`.keys`), none (`-`:
    the capture's own Decryption Secrets Block) or the server's RSA key."""
    if key == "-":
        return []
    if key.endswith(".keys"):
        return ["-o", "tls.keylog_file:" + key]
    return ["-o", "tls.keys_list:0.0.0.0,3389,tpkt," + key]


def main():
    capture, label, key, key_label = sys.argv[1:5]
    args = ["tshark", "-r", capture] + secret_args(key) + [
        "-d", "tcp.port==3389,tls",
        "-T", "json",
    ]
    frames = json.loads(subprocess.check_output(args, stderr=subprocess.DEVNULL), object_pairs_hook=lambda p: p)
    # The Connection Confirm is in the clear: read without decryption.
    selected = {}
    plain = ["tshark", "-r", capture, "-Y", "rdp.negReq.selectedProtocol", "-T", "fields",
             "-e", "tcp.stream", "-e", "rdp.negReq.selectedProtocol"]
    for line in subprocess.check_output(plain, stderr=subprocess.DEVNULL, text=True).splitlines():
        stream, sel = line.split("\t")
        selected[int(stream)] = "0x%08x" % int(sel, 0)
    conns = {}
    for frame in frames:
        layers = dict(pairs(dict(pairs(frame))["_source"]))["layers"]
        tcp = dict(pairs(dict(pairs(layers)).get("tcp", [])))
        if "tcp.stream" not in tcp:
            continue
        stream = int(tcp["tcp.stream"])
        direction = "to_server" if int(tcp["tcp.dstport"]) == 3389 else "to_client"
        c = conns.setdefault(stream, {"selected": selected.get(stream, "-"), "to_server": ([], ["-", "-", "-", [], "-"], [0]),
                                      "to_client": ([], ["-", "-", "-", [], "-"], [0])})
        tokens, ntlm, fp = c[direction]
        walk(layers, tokens, ntlm, fp)
    for stream in sorted(conns):
        c = conns[stream]
        for d in ("to_server", "to_client"):
            tokens, ntlm, fast_path = c[d]
            if not tokens:
                continue
            print("\t".join([label, key_label, str(stream), d, c["selected"], ntlm[0], ntlm[1],
                             ntlm[2], ",".join(ntlm[3]) or "-", ntlm[4], str(fast_path[0]), ",".join(tokens)]))


if __name__ == "__main__":
    main()
