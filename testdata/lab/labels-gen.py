import csv, sys
T = "tshark -r {f} -d tcp.port==3389,tls"
X224 = "tshark -r {f} -Y 'cotp.type==0x0d' -T fields -e frame.number -e rdp.negReq.selectedProtocol -e rdp.negFailure.failureCode"
FINRST = " -Y 'tcp.flags.fin==1 || tcp.flags.reset==1' -T fields -e frame.number -e ip.ttl -e tcp.flags.str"
HS = " -Y 'tls.handshake.type || tls.alert_message || tls.record.content_type==21' -T fields -e frame.number -e ip.src -e tls.handshake.type -e tls.alert_message.desc"
OK = "none (stopped by the lab with SIGINT; exit 124 from timeout)"
rows = []
# Inside TLS, without keys, the ladder places RDP set-up only by the first
# application records each way (mcs_connect_initial / mcs_connect_response) and
# the session by its volume: a label's last_step / failed_step there is the
# deepest step the capture can show (48, 51, 52, 68); the scenario text keeps
# what the record sizes and the programs' logs suggest beyond it. A label's
# cause is the vocabulary's closest description of what the capture shows: 49's
# server closes at the client's first CredSSP message (server_closed), whatever
# its log says about why. 52 ran the whole connection sequence and closed it
# gracefully: on the wire a connection that completed set-up (established), not
# a credential check, whatever the client's option was. 46 stream 4 is TLS 1.3,
# where the client finishes the handshake last; its 438-byte record after the
# handshake is, by position, its MCS Connect Initial.
#
# max_failure_confidence of the first 38 scenarios' failures: the strongest
# confidence a failure claim may have from the capture alone. high: the
# capture shows the failure explicitly (RDP_NEG_FAILURE, a clear-text TLS
# alert, an RST or ICMP error answering a request, a clear-text MCS
# Disconnect Provider Ultimatum or a wrong protocol's answer); medium: it
# rests on timing, on unanswered retransmissions or on the sizes and order of
# encrypted records; none: healthy, benign, or a capture that cannot show a
# failure.
CONF = {
    "05-nla-wrong-password.pcap": "medium",      # encrypted: server closes after the authenticate record
    "06-port-closed.pcap": "high",               # RST/ACK answers the SYN
    "07-firewall-drop.pcap": "medium",           # unanswered SYNs: timing
    "08-icmp-admin-prohibited.pcap": "high",     # ICMP 3/13
    "09-ssl-required-by-server.pcap": "high",    # RDP_NEG_FAILURE
    "10-ssl-not-allowed-by-server.pcap": "high",
    "11-hybrid-required-by-server.pcap": "high",
    "12-tls-version-mismatch.pcap": "high",      # clear-text alert 70
    "13-cert-expired.pcap": "medium",            # encrypted alert right after the handshake
    "14-cert-self-signed.pcap": "medium",
    "15-cert-name-mismatch.pcap": "medium",
    "16-key-unreadable.pcap": "high",
    "17-key-mismatch.pcap": "high",              # clear-text DPU + RST after the ClientHello
    "18-middlebox-reset-tls.pcap": "high",       # RST answering the ClientHello
    "19-middlebox-reset-session.pcap": "high",   # RST answering a keep-alive
    "20-mtu-black-hole.pcap": "medium",          # sequence/ack analysis, no error packet
    "20-mtu-black-hole-server.pcap": "medium",   # retransmissions: timing
    "21-stall-after-tcp-handshake.pcap": "medium",
    "22-stall-after-connection-confirm.pcap": "medium",
    "29-xrdp-rdp-only-tls-client.pcap": "high",  # selected protocol not among those requested
    "30-key-unreadable-fallback.pcap": "high",
    "31-tls-no-usable-version.pcap": "high",     # clear-text alert 80
    "32-wrong-service-on-port.pcap": "high",     # HTML answers the Connection Request
    "34-path-dropped-mid-session.pcap": "medium",
    "35-client-zero-window.pcap": "medium",
    "36-cert-not-yet-valid.pcap": "medium",
    "37-tls-cipher-mismatch.pcap": "high",       # clear-text alert 40
    "38-idle-timeout.pcap": "medium",
}
def r(f, stream, sc, what, outcome, last, failed, ended, cause, ev, err, chk, conf=None):
    if conf is None:
        conf = CONF.get(f, "none") if outcome in ("failed", "established") and cause != "-" else "none"
    assert conf in ("none", "low", "medium", "high"), conf
    rows.append([f, str(stream), sc, what, outcome, last, failed, ended, cause, ev, err, chk.format(f=f), conf])

r("01-success-tls.pcap",0,"success_tls","xrdp security_layer=negotiate ssl_protocols=TLSv1.2; xfreerdp /sec:tls /cert:ignore; client stopped after 6 s at the login screen",
  "established","session_data","-","closed_by_client","-","181,183",OK, T+FINRST)
r("02-success-rdp-security.pcap",0,"success_rdp_security","xrdp security_layer=rdp crypt_level=fips; xfreerdp /sec:rdp (no RDP_NEG_REQ sent); MCS, Security Exchange, Client Info in the clear; stopped after 6 s",
  "established","session_data","-","closed_by_client","-","35,36,180",OK, "tshark -r {f} -Y 'tcp.len>0' -T fields -e frame.number -e _ws.col.Info")
r("03-success-nla.pcap",0,"success_nla","freerdp-shadow-cli /sec:nla with a SAM file (lab/labpass); xfreerdp /sec:nla /u:lab /p:labpass; HYBRID selected, TLS 1.3, CredSSP inside; stopped after 8 s",
  "established","session_data","-","closed_by_client","-","6,19,20,121",OK, X224+"; "+T+" -Y 'tcp.len>0' -T fields -e frame.number -e ip.src -e tcp.len")
r("04-success-tls13.pcap",0,"success_tls13","xrdp ssl_protocols=TLSv1.2, TLSv1.3 (Debian default); xfreerdp /sec:tls; TLS 1.3 chosen, certificate encrypted; stopped after 6 s",
  "established","session_data","-","closed_by_client","-","10,167,169",OK, T+HS+" -e tls.handshake.extensions.supported_version")
for s,(auth,rec,fin,rst) in enumerate([(19,20,22,25),(44,45,47,49)]):
    r("05-nla-wrong-password.pcap",s,"nla_wrong_password","freerdp-shadow-cli /sec:nla; xfreerdp /sec:nla /u:lab /p:wrongpass; server closes after the NTLM authenticate message"+(" (FreeRDP's second attempt)" if s else ""),
      "failed","credssp_authenticate","credssp_server_pubkeyauth","closed_by_server","credentials_rejected",f"{auth},{rec},{fin},{rst}",
      "ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; freerdp_post_connect failed; exit 147",
      T+" -Y 'tcp.stream=="+str(s)+" && (tcp.len>0 || tcp.flags.fin==1 || tcp.flags.reset==1)' -T fields -e frame.number -e ip.src -e tcp.len -e tcp.flags.str")
for s,(syn,rst) in enumerate([(1,2),(3,4)]):
    r("06-port-closed.pcap",s,"port_closed","nothing listens on 3389 in the server namespace; xfreerdp /sec:tls"+(" (FreeRDP's second attempt)" if s else ""),
      "failed","tcp_syn","tcp_syn_ack","refused","port_closed",f"{syn},{rst}",
      "ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; freerdp_post_connect failed; exit 147", "tshark -r {f}"+FINRST)
r("07-firewall-drop.pcap",0,"firewall_drop","router iptables FORWARD --dport 3389 --syn -j DROP; xfreerdp gives up after about 15 s",
  "failed","tcp_syn","tcp_syn_ack","timeout","filtered","1,2,3,4,5,6,7,8",
  "freerdp_tcp_connect: ERRCONNECT_CONNECT_FAILED [0x00020006]; failed to connect to 198.51.100.20; exit 141",
  "tshark -r {f} -Y 'tcp.analysis.retransmission' -T fields -e frame.number -e frame.time_relative")
for s,(a,b,c,d) in enumerate([(1,2,3,4),(5,6,7,8)]):
    r("08-icmp-admin-prohibited.pcap",s,"icmp_admin_prohibited","router iptables FORWARD --dport 3389 --syn -j REJECT --reject-with icmp-admin-prohibited (ICMP 3/13 from 192.0.2.1)"+(" (FreeRDP's second attempt)" if s else ""),
      "failed","tcp_syn","tcp_syn_ack","icmp_error","icmp_unreachable",f"{a},{b},{c},{d}",
      "ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; freerdp_post_connect failed; exit 147",
      "tshark -r {f} -Y icmp -T fields -e frame.number -e ip.src -e icmp.type -e icmp.code -e tcp.srcport")
NEGERR = "Protocol Security Negotiation Failure; ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED [0x0002000C]; exit 133"
r("09-ssl-required-by-server.pcap",0,"ssl_required_by_server","freerdp-shadow-cli /sec:tls; xfreerdp /sec:rdp (Connection Request without RDP_NEG_REQ); RDP_NEG_FAILURE code 1",
  "failed","x224_connection_request","x224_connection_confirm","negotiation_failure","ssl_required_by_server","4,6,8",NEGERR,X224)
r("10-ssl-not-allowed-by-server.pcap",0,"ssl_not_allowed_by_server","freerdp-shadow-cli /sec:rdp; xfreerdp /sec:tls (requests SSL only); RDP_NEG_FAILURE code 2",
  "failed","x224_connection_request","x224_connection_confirm","negotiation_failure","ssl_not_allowed_by_server","4,6,8",NEGERR,X224)
r("11-hybrid-required-by-server.pcap",0,"hybrid_required_by_server","freerdp-shadow-cli /sec:nla; xfreerdp /sec:tls (requests SSL only); RDP_NEG_FAILURE code 5",
  "failed","x224_connection_request","x224_connection_confirm","negotiation_failure","nla_required","4,6,8",NEGERR,X224)
r("12-tls-version-mismatch.pcap",0,"tls_version_mismatch","xrdp ssl_protocols=TLSv1, TLSv1.1 tls_ciphers=DEFAULT:@SECLEVEL=0; xfreerdp /sec:tls +enforce-tlsv1_2; server answers with a TLS 1.1 ServerHello, the client sends alert protocol_version (70)",
  "failed","tls_server_hello_done","tls_client_key_exchange","tls_alert","tls_version_mismatch","8,10,11",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143", T+HS+" -e tls.handshake.version")
CERTERR = "certificate not trusted, aborting; ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143"
CERTCHK = T+HS+"; "+T+" -Y tls.handshake.certificate -T fields -e x509af.utcTime -e x509sat.uTF8String -e x509ce.dNSName"
r("13-cert-expired.pcap",0,"cert_expired","xrdp with a certificate valid 2020-01-01..2021-01-01 signed by the lab CA, name = server address; xfreerdp /sec:tls /cert:deny with SSL_CERT_FILE = lab CA; handshake completes, client sends an encrypted alert and FIN",
  "failed","tls_server_finished","tls_certificate_accepted","tls_alert","cert_rejected_expired","10,13,14",
  "Certificate verification failure 'certificate has expired (10)'; "+CERTERR, CERTCHK)
r("14-cert-self-signed.pcap",0,"cert_self_signed","xrdp with a self-signed certificate (valid dates, right name); xfreerdp /sec:tls /cert:deny, empty known_hosts; client sends an encrypted alert and FIN after the handshake",
  "failed","tls_server_finished","tls_certificate_accepted","tls_alert","cert_rejected_self_signed","10,14,15",
  "Certificate verification failure 'self-signed certificate (18)'; "+CERTERR, CERTCHK)
r("15-cert-name-mismatch.pcap",0,"cert_name_mismatch","xrdp with a lab-CA certificate for other-host.lab; xfreerdp /v:198.51.100.20 /sec:tls /cert:deny with SSL_CERT_FILE = lab CA; client sends an encrypted alert and FIN after the handshake",
  "failed","tls_server_finished","tls_certificate_accepted","tls_alert","cert_rejected_name_mismatch","10,13,14",
  "WARNING: CERTIFICATE NAME MISMATCH; "+CERTERR, CERTCHK)
r("16-key-unreadable.pcap",0,"key_unreadable","xrdp (run as user xrdp) security_layer=tls, key_file root:root 0600 (Permission denied); xfreerdp /sec:tls; RDP_NEG_FAILURE code 3",
  "failed","x224_connection_request","x224_connection_confirm","negotiation_failure","cert_not_on_server","4,6,8",NEGERR,X224)
r("17-key-mismatch.pcap",0,"key_mismatch","xrdp security_layer=negotiate, key_file does not match the certificate; TLS selected, then after the ClientHello the server sends an MCS Disconnect Provider Ultimatum in the clear and RST",
  "failed","tls_client_hello","tls_server_hello","reset_by_server","server_cert_unusable","8,10,11",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143",
  "tshark -r {f} -Y 'frame.number>=8' -T fields -e frame.number -e ip.src -e ip.ttl -e tcp.flags.str -e _ws.col.Info")
r("18-middlebox-reset-tls.pcap",0,"middlebox_reset_tls","router iptables: the client's first TLS record (u32 first payload byte 0x16) -j REJECT --reject-with tcp-reset; the forged RST carries TTL 64, the server's packets 63",
  "failed","tls_client_hello","tls_server_hello","reset_by_middlebox","middlebox_reset","8,9",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143", "tshark -r {f} -T fields -e frame.number -e ip.src -e ip.ttl -e tcp.flags.str")
r("19-middlebox-reset-session.pcap",0,"middlebox_reset_session","xrdp TLS session at the login screen; 4 s in the router starts rejecting the client's packets with tcp-reset; the client's next keep-alive draws a forged RST (TTL 64; the server's packets have 63)",
  "established","session_data","-","reset_by_middlebox","middlebox_reset","177,178",
  "BIO_read: Connection reset by peer; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131", "tshark -r {f}"+FINRST+"; tshark -r {f} -T fields -e ip.src -e ip.ttl | sort | uniq -c")
r("20-mtu-black-hole.pcap",0,"mtu_black_hole","client side: router link toward the client MTU 576, client MTU 1500 (MSS 1460), router's ICMP frag-needed dropped; the server's 1206-byte ServerHello..ServerHelloDone segment never arrives; its keep-alive ACKs show Seq=1226 while the client still acks 20; lab stopped the client after 25 s",
  "failed","tls_client_hello","tls_server_hello","closed_by_client","mtu_black_hole","8,9,11,13,18",
  OK, "tshark -r {f} -T fields -e frame.number -e ip.src -e tcp.seq -e tcp.ack -e tcp.len -e _ws.col.Info")
r("20-mtu-black-hole-server.pcap",0,"mtu_black_hole","same connection captured on the server's interface: the 1206-byte segment (frame 10) retransmitted 7 times, never acknowledged; no ICMP arrives",
  "failed","tls_client_hello","tls_server_hello","closed_by_client","mtu_black_hole","10,11,12,13,14,15,18,21",
  OK, "tshark -r {f} -Y 'tcp.len>1000' -T fields -e frame.number -e frame.time_relative -e tcp.len -e _ws.col.Info")
r("21-stall-after-tcp-handshake.pcap",0,"stall_after_tcp_handshake","xrdp SIGSTOPped before the client connects: the kernel completes the handshake and acks the Connection Request, no Connection Confirm; keep-alives answered; lab stopped the client after 30 s",
  "failed","x224_connection_request","x224_connection_confirm","closed_by_client","service_unresponsive","4,5,7,16",
  OK, "tshark -r {f} -T fields -e frame.number -e frame.time_relative -e ip.src -e _ws.col.Info")
r("22-stall-after-connection-confirm.pcap",0,"stall_after_connection_confirm","xrdp SIGSTOPped right after it sent the Connection Confirm (router held back the first copy so the stop lands first; the client sees only the kernel's retransmitted copy); ClientHello acked, no ServerHello; lab stopped the client after 30 s",
  "failed","tls_client_hello","tls_server_hello","closed_by_client","service_unresponsive","6,8,9,20",
  OK, "tshark -r {f} -T fields -e frame.number -e frame.time_relative -e ip.src -e _ws.col.Info")
r("23-snaplen-96.pcap",0,"snaplen_96","as 01 captured with tcpdump -s 96: every frame cut to 96 bytes",
  "established","session_data","-","closed_by_client","-","172,174",OK, "capinfos -l {f}; tshark -r {f}"+FINRST)
r("24-capture-mid-connection.pcap",0,"capture_mid_connection","as 01 but tcpdump started 0.8 s after the TCP connection was up (no SYN, X.224 or TLS handshake in the capture)",
  "established","session_data","-","closed_by_client","-","1,165,167",OK, "tshark -r {f} -c 3; tshark -r {f}"+FINRST)
r("25-two-interfaces.pcapng",0,"two_interfaces","as 01 captured by dumpcap on both router interfaces (rc, rs): every packet twice, once per interface, TTL differing by one",
  "established","session_data","-","closed_by_client","-","373,375,376,378",OK, "tshark -r {f} -Y 'tcp.flags.fin==1||tcp.flags.reset==1' -T fields -e frame.number -e frame.interface_name -e ip.ttl -e tcp.flags.str")
r("26-success-tls-gzip.pcap.gz",0,"gzip","as 01 (separate run), written by tcpdump then gzip -9 -n",
  "established","session_data","-","closed_by_client","-","163,165",OK, "tshark -r {f}"+FINRST)
r("27-linux-cooked-sll2.pcap",0,"linux_cooked_sll2","as 01 captured with tcpdump -i any (LINUX_SLL2)",
  "established","session_data","-","closed_by_client","-","186,188",OK, "capinfos -E {f}; tshark -r {f}"+FINRST)
r("28-linux-cooked-sll.pcap",0,"linux_cooked_sll","as 01 captured with tcpdump -i any -y LINUX_SLL",
  "established","session_data","-","closed_by_client","-","176,178",OK, "capinfos -E {f}; tshark -r {f}"+FINRST)
r("29-xrdp-rdp-only-tls-client.pcap",0,"ssl_not_allowed_by_server","xrdp security_layer=rdp; xfreerdp /sec:tls: xrdp sends no failure code, it selects PROTOCOL_RDP (0) which the client did not offer; the client closes",
  "failed","x224_connection_confirm","mcs_connect_initial","closed_by_client","ssl_not_allowed_by_server","4,6,8",NEGERR,X224)
r("30-key-unreadable-fallback.pcap",0,"key_unreadable_fallback","xrdp security_layer=negotiate, key_file unreadable by user xrdp: xrdp falls back to Standard RDP Security and selects PROTOCOL_RDP (0) for a TLS-only client; the client closes. On the wire identical to 29",
  "failed","x224_connection_confirm","mcs_connect_initial","closed_by_client","ssl_not_allowed_by_server","4,6,8",NEGERR,X224)
r("31-tls-no-usable-version.pcap",0,"tls_server_internal_error","xrdp ssl_protocols=TLSv1, TLSv1.1 at OpenSSL 3's default security level (neither usable); xfreerdp /sec:tls +enforce-tlsv1_2; the server answers the ClientHello with alert internal_error (80)",
  "failed","tls_client_hello","tls_server_hello","tls_alert","tls_server_internal_error","8,10",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143", T+HS)
r("32-wrong-service-on-port.pcap",0,"wrong_service_on_port","Python's http.server listens on 3389; it answers the Connection Request with an HTML error page (no TPKT, no status line: the request is not HTTP/1.x); the client closes (FIN, then RST)",
  "failed","x224_connection_request","x224_connection_confirm","closed_by_client","not_rdp_server","4,6,8,9",NEGERR,
  "tshark -r {f} -Y 'frame.number==6' -x; tshark -r {f}"+FINRST)
r("33-capture-ends-early.pcap",0,"capture_ends_early","as 01 (the connection succeeded: client stopped after 6 s) but tcpdump -c 9 stopped after the server's ACK of the ClientHello",
  "incomplete","tls_client_hello","-","capture_ended","-","8,9",OK, "tshark -r {f}")
r("34-path-dropped-mid-session.pcap",0,"path_dropped_mid_session","xrdp TLS session idle at the login screen; 3 s in the router drops all port-3389 traffic both ways; the client's keep-alives (6.5 s, 8.5 s) go unanswered and its kernel gives up with RST (ETIMEDOUT)",
  "established","session_data","-","reset_by_client","path_lost","189,190,191,192",
  "BIO_read: Connection timed out (110); ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131",
  "tshark -r {f} -Y 'frame.number>=187' -T fields -e frame.number -e frame.time_relative -e ip.src -e _ws.col.Info")
r("35-client-zero-window.pcap",0,"client_zero_window","client namespace tcp_rmem 4096 8192 16384; xfreerdp SIGSTOPped during the connection sequence while xrdp sends the login screen; the client's window goes to 0 at 1.6 s, xrdp probes; the lab kills the client at 16 s (RST)",
  "established","session_data","-","reset_by_client","zero_window_stall","140,146,148,151,153,157,160",
  "none (xfreerdp stopped, then killed by the lab with SIGKILL; exit 137)",
  "tshark -r {f} -Y 'tcp.analysis.zero_window || tcp.analysis.window_full || tcp.flags.reset==1' -T fields -e frame.number -e frame.time_relative -e ip.src -e tcp.window_size")
r("36-cert-not-yet-valid.pcap",0,"cert_not_yet_valid","xrdp with a certificate valid 2035-01-01..2036-01-01 (not yet valid) signed by the lab CA, name = server address; xfreerdp /sec:tls /cert:deny with SSL_CERT_FILE = lab CA; handshake completes, client sends an encrypted alert and FIN",
  "failed","tls_server_finished","tls_certificate_accepted","tls_alert","cert_rejected_not_yet_valid","9,12,13",
  "Certificate verification failure 'certificate is not yet valid (9)'; "+CERTERR, CERTCHK)
r("37-tls-cipher-mismatch.pcap",0,"tls_cipher_mismatch","xrdp security_layer=tls ssl_protocols=TLSv1.2 tls_ciphers=CAMELLIA256-SHA:ARIA256-GCM-SHA384; xfreerdp /sec:tls with its default list (OpenSSL 3 DEFAULT: 30 suites, no Camellia, no ARIA); the server answers the ClientHello with alert handshake_failure (40) (xrdp log: no shared cipher), then sends an MCS Disconnect Provider Ultimatum in the clear; client FIN, RST",
  "failed","tls_client_hello","tls_server_hello","tls_alert","tls_cipher_mismatch","8,9",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143",
  T+HS+"; "+T+" -Y 'frame.number==8' -T fields -e tls.handshake.ciphersuite; tshark -r {f} -Y 'frame.number==11' -x")
r("38-idle-timeout.pcap",0,"idle_timeout","router conntrack: established-TCP timeout 20 s, nf_conntrack_tcp_loose=0, FORWARD ctstate INVALID -j DROP; xrdp TLS session idle at the login screen with no keep-alives (xfreerdp's SO_KEEPALIVE switched off by an LD_PRELOAD shim) for 33 s; then mouse input: the router has forgotten the connection and drops it; the client retransmits (TLP, then RTO 0.45..3.5 s) and its TCP_USER_TIMEOUT (9 s) ends the connection without FIN or RST; 15 s later a ping to the server is answered",
  "established","session_data","-","timeout","idle_timeout","170,171,173,175,176,177,178,179",
  "BIO_read returned a system error 110: Connection timed out; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131",
  T+" -Y 'frame.number>=169' -T fields -e frame.number -e frame.time_relative -e ip.src -e ip.ttl -e tcp.seq -e tcp.len -e _ws.col.Info")
# ------------------------------------------------------------ 39 onward
# Other clients and servers, session shapes and capture conditions. The
# labels come from what was run (client exit code and output, server log)
# and from the tshark output named in checked_with.
SEQ = "tshark -r {f} -d tcp.port==3389,tls -T fields -e frame.number -e frame.time_relative -e tcp.stream -e ip.src -e tcp.len -e tcp.flags.str -e _ws.col.Info"
NEG = "tshark -r {f} -T fields -e frame.number -e tcp.stream -e ip.src -e tcp.flags.str -e rdp.negReq.requestedProtocols -e rdp.negReq.selectedProtocol -e rdp.negFailure.failureCode -e _ws.col.Info"
TLSREC = " -Y 'tcp.len>0' -T fields -e frame.number -e ip.src -e tcp.len -e tls.record.content_type -e tls.handshake.type"
R124 = "none (rdesktop stopped by the lab with SIGINT; exit 124 from timeout)"
r("39-rdesktop-tls.pcap",0,"rdesktop_tls","rdesktop 1.9 (GnuTLS) against xrdp security_layer=negotiate; rdesktop cannot verify the lab CA and asks; the answer yes comes on stdin 1 s later (0.66 s gap between the server's Certificate and the ClientKeyExchange); 42 kB of session data; stopped after 5 s: client FIN without close_notify, the server's close_notify, client RST",
  "established","session_data","-","closed_by_client","-","104,106",R124, T+FINRST+"; "+T+TLSREC)
r("40-rdesktop-cert-rejected.pcap",0,"rdesktop_cert_rejected","as 39 but the answer is no: rdesktop aborts inside the TLS 1.2 handshake 0.77 s after the server's Certificate..ServerHelloDone, with RST/ACK and no TLS alert (issuer CN=rdptriage lab CA, subject CN=198.51.100.20, dates valid: only the untrusted issuer is visible)",
  "failed","tls_server_hello_done","tls_client_key_exchange","reset_by_client","cert_rejected","10,12",
  "Certificate error during TLS handshake: Error in the certificate.; exit 1", T+FINRST+"; "+T+HS+"; "+T+" -Y tls.handshake.certificate -T fields -e x509sat.printableString -e x509af.utcTime", "medium")
r("41-rdesktop-rdp-security.pcap",0,"rdesktop_rdp_security","rdesktop -E against xrdp security_layer=rdp crypt_level=low: Standard RDP Security (40-bit RC4) in the clear up to Client Info, licensing and capabilities; 20 ms after the server's first fast-path updates rdesktop gives up ('channel_process(), unexpected stream overrun', exit 0) and sends FIN; the server's next 3 segments are answered with RST",
  "established","session_data","-","closed_by_client","client_aborted","58,61",
  "Core(error): channels.c:222: channel_process(), unexpected stream overrun; exit 0",
  "tshark -r {f} -Y 'tcp.len>0 || tcp.flags.fin==1 || tcp.flags.reset==1' -T fields -e frame.number -e frame.time_relative -e ip.src -e tcp.len -e _ws.col.Info", "low")
r("42-rdesktop-fips-rejected.pcap",0,"rdesktop_fips_rejected","rdesktop -E against xrdp security_layer=rdp crypt_level=fips: xrdp rejects the Client Info's security header (its log: TS_SECURITY_HEADER2 has unexpected length) and sends MCS Disconnect Provider Ultimatum in the clear, then FIN",
  "failed","rdp_client_info","rdp_licensing","closed_by_server","server_denied_session","33,35,36",
  "Connection established using plain RDP.; exit 76",
  "tshark -r {f} -Y 'frame.number>=30' -T fields -e frame.number -e ip.src -e tcp.len -e _ws.col.Info", "high")
r("43-impacket-rdp-check.pcap",0,"impacket_rdp_check","impacket 0.10.0 rdp_check.py lab:labpass against freerdp-shadow-cli /sec:nla: TLS 1.3, CredSSP negotiate/challenge/authenticate, the server's pubKeyAuth (361 bytes), the client's credentials record, then 'Access Granted' and FIN; the server's close_notify draws the client's RST. A credential check, not a session",
  "benign","credssp_credentials","-","closed_by_client","-","17,18,19,21","none ([*] Access Granted; exit 0)", SEQ)
r("44-impacket-rdp-check-wrong-password.pcap",0,"impacket_rdp_check_wrong_password","impacket rdp_check.py lab:wrongpass against freerdp-shadow-cli /sec:nla: the server answers the NTLM authenticate record (564 bytes) with a 24-byte record (close_notify) and FIN, no pubKeyAuth",
  "failed","credssp_authenticate","credssp_server_pubkeyauth","closed_by_server","credentials_rejected","17,18,19",
  "[-] (empty error text); exit 0", SEQ, "medium")
E45 = "rdp-enum-encryption probe (nmap 7.93, mstshash=nmap) against xrdp security_layer=negotiate: "
r("45-nmap-enum-encryption-xrdp.pcap",0,"nmap_enum_encryption","nmap's SYN scan of port 3389 (raw SYN, the server's SYN/ACK, the scanner's RST) before the script's connections",
  "benign","tcp_syn_ack","-","reset_by_client","-","1,2,3","none (nmap exit 0)", NEG)
for st,(req,sel,ev) in {1:("0 (Standard RDP)","0","9,11"),2:("3 (SSL|HYBRID)","1 (SSL)","20,22,24"),3:("4 (RDSTLS)","0","30,32"),4:("8 (HYBRID_EX)","0","41,43")}.items():
    r("45-nmap-enum-encryption-xrdp.pcap",st,"nmap_enum_encryption",E45+f"requested {req}, xrdp selected {sel}; the probe hangs up at once",
      "benign","x224_connection_confirm","-","closed_by_client","-",ev,"none (nmap exit 0)", NEG)
r("45-nmap-enum-encryption-xrdp.pcap",5,"nmap_enum_encryption",E45+"requested 1 (SSL), selected SSL; TLS 1.2 handshake, the client's 473-byte and the server's 153-byte application records (MCS Connect Initial / Response by size), then the client's encrypted alert (close_notify) and FIN, the server's alert, client RST",
  "benign","mcs_connect_response","-","closed_by_client","-","60,61,62,63,67","none (nmap exit 0)", NEG+"; "+T+" -Y 'tcp.stream==5'"+TLSREC[len(" -Y 'tcp.len>0'"):] )
for st,(resp,fin,ev) in {6:(77,78,"77,78"),7:(91,92,"91,92"),8:(105,106,"105,106"),9:(118,119,"118,119")}.items():
    r("45-nmap-enum-encryption-xrdp.pcap",st,"nmap_enum_encryption",E45+"Connection Request without RDP_NEG_REQ, MCS Connect Initial for one encryption level; the server's Connect Response (128-bit RC4) in the clear, then the probe hangs up",
      "benign","mcs_connect_response","-","closed_by_client","-",ev,"none (nmap exit 0)", NEG)
E46 = "rdp-enum-encryption probe (nmap) against freerdp-shadow-cli /sec:nla: "
r("46-nmap-enum-encryption-nla.pcap",0,"nmap_enum_encryption","nmap's SYN scan of port 3389 before the script's connections",
  "benign","tcp_syn_ack","-","reset_by_client","-","1,2,3","none (nmap exit 0)", NEG)
for st,(req,ev) in {1:("8 (HYBRID_EX)","9,11"),2:("0 (Standard RDP)","19,21"),3:("4 (RDSTLS)","29,31")}.items():
    r("46-nmap-enum-encryption-nla.pcap",st,"nmap_enum_encryption",E46+f"requested {req}; RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5); the probe hangs up: one answer of a probe series, not a user's failure",
      "benign","x224_connection_request","-","negotiation_failure","-",ev,"none (nmap exit 0)", NEG)
r("46-nmap-enum-encryption-nla.pcap",4,"nmap_enum_encryption",E46+"requested 1 (SSL); the server answers RDP_NEG_FAILURE (5) but then accepts the probe's ClientHello anyway: TLS 1.3 completes, a 438-byte client record, then close_notify both ways, client FIN and RST",
  "benign","mcs_connect_initial","-","closed_by_client","-","39,41,43,50,51,53","none (nmap exit 0)", NEG+"; "+T+" -Y 'tcp.stream==4'"+TLSREC[len(" -Y 'tcp.len>0'"):])
r("46-nmap-enum-encryption-nla.pcap",5,"nmap_enum_encryption",E46+"requested 3 (SSL|HYBRID); HYBRID selected (2); the probe hangs up",
  "benign","x224_connection_confirm","-","closed_by_client","-","59,61","none (nmap exit 0)", NEG)
for st,(f1,f2,f3) in {6:(69,71,73),7:(81,83,85),8:(93,95,97),9:(105,107,109)}.items():
    r("46-nmap-enum-encryption-nla.pcap",st,"nmap_enum_encryption",E46+"Connection Request without RDP_NEG_REQ; RDP_NEG_FAILURE (5); the probe sends its MCS Connect Initial anyway and the server closes",
      "benign","x224_connection_request","-","negotiation_failure","-",f"{f1},{f2},{f3}","none (nmap exit 0)", NEG)
r("47-nmap-ntlm-info.pcap",0,"nmap_ntlm_info","nmap's SYN scan of port 3389 before rdp-ntlm-info",
  "benign","tcp_syn_ack","-","reset_by_client","-","1,2,3","none (nmap exit 0)", NEG)
r("47-nmap-ntlm-info.pcap",1,"nmap_ntlm_info","nmap rdp-ntlm-info against freerdp-shadow-cli /sec:nla: requests 0xb, HYBRID selected, TLS 1.3, CredSSP negotiate (79 bytes), the server's challenge (184 bytes: names, version), then the probe's close_notify; the server's close_notify and FIN; client RST/ACK",
  "benign","credssp_challenge","-","closed_by_client","-","16,18,20,22,23","none (nmap exit 0: Target_Name VM, Product_Version 6.1.7601)", SEQ)
r("48-aardwolf-xrdp.pcap",0,"aardwolf_xrdp","aardwolf 0.2.16 (ardpscan -s screen, no credentials) against xrdp security_layer=negotiate: TLS 1.2, then by record size MCS Connect Initial (405) / Response (130), Erect Domain, Attach User / Confirm, one Channel Join / Confirm (44), then a 348-byte record where xrdp expects the next Channel Join (its log: DomainMCSPDU choice index expected 14, received 25); xrdp sends a 38-byte record, close_notify and FIN; the client's next record draws an RST",
  "failed","mcs_connect_response","session_data","closed_by_server","server_denied_session","24,25,26,27,30",
  "LicensingProtocolError: Server did not complete the RDP licensing phase within timeout; exit 0", SEQ, "medium")
r("49-aardwolf-nla.pcap",0,"aardwolf_nla","aardwolf ardpscan with rdp+ntlm-password lab:labpass (the right password) against freerdp-shadow-cli /sec:nla: TLS 1.3, the client's first CredSSP record (113 bytes), the server's 12 kB answer, close_notify and FIN; the server's log: NTLM_MESSAGE_HEADER Invalid signature, SEC_E_INVALID_TOKEN (the client's NTLM message was not understood; the password was not at fault)",
  "failed","credssp_negotiate","credssp_challenge","closed_by_server","server_closed","17,28,29",
  "none printed (ardpscan -e: no output; exit 0)", SEQ, "medium")
r("52-auth-only.pcap",0,"auth_only","xfreerdp /auth-only /sec:nla lab/labpass against freerdp-shadow-cli: CredSSP completes and FreeRDP 2.11 still runs the connection sequence (MCS, Client Info, licensing, capabilities, finalization records) before it stops: close_notify, FIN, the server's close_notify, RST; no screen data. A credential check",
  "established","mcs_connect_response","-","closed_by_client","-","59,60,61,62",
  "Authentication only, exit status 0; ERRCONNECT_CONNECT_CANCELLED; exit 0", SEQ)
r("53-auth-only-wrong-password.pcap",0,"auth_only_wrong_password","xfreerdp /auth-only /sec:nla lab/wrongpass against freerdp-shadow-cli: the server answers the NTLM authenticate record (455 bytes) with close_notify and FIN; the client's close_notify draws the server's RST; the handshake shows two single retransmissions (tail-loss probes)",
  "failed","credssp_authenticate","credssp_server_pubkeyauth","closed_by_server","credentials_rejected","20,21,23",
  "ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; Authentication only, exit status 1; exit 147", SEQ, "medium")
r("55-window-closed.pcap",0,"window_closed","xfreerdp /sec:tls against xrdp; 4 s in, the window is asked to close (WM_DELETE_WINDOW): the client sends close_notify (31-byte alert), then FIN; the server's close_notify draws the client's RST",
  "established","session_data","-","closed_by_client","-","180,182,183,184","none (ERRCONNECT_CONNECT_CANCELLED; exit 0)", SEQ)
r("56-client-killed.pcap",0,"client_killed","xfreerdp /sec:tls against xrdp, killed with SIGKILL 4 s in: the client's kernel sends FIN (nothing unread), no close_notify; the server's close_notify draws an RST",
  "established","session_data","-","closed_by_client","-","189,191","none (SIGKILL; exit 137)", SEQ)
r("57-server-killed.pcap",0,"server_killed","xfreerdp /sec:tls against xrdp; the lab moves the client's pointer every 0.2 s from 2 s on; 4 s in the xrdp process serving the connection is killed (SIGKILL): the server's kernel sends FIN, no MCS or TLS goodbye, while the client is sending input; the client's close_notify draws the server's RST",
  "established","session_data","-","closed_by_server","server_closed","202,204,205,206",
  "BIO_read returned a system error 0: Success; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131", SEQ, "high")
r("58-capture-stopped-mid-session.pcap",0,"capture_stopped_mid_session","xfreerdp /sec:tls against xrdp; tcpdump stopped 3 s into the session (the session went on; the client was stopped at 8 s): the capture ends in an idle login screen",
  "established","session_data","-","capture_ended","-","181,182",OK, SEQ)
r("59-capture-started-mid-session.pcap",0,"capture_started_mid_session","xfreerdp /sec:tls against xrdp with pointer input every 0.2 s; tcpdump started 4 s into the session: no handshake, 39-byte input records and the server's ACKs and small answers, then client FIN, the server's close_notify, RST",
  "established","session_data","-","closed_by_client","-","1,34,36",OK, SEQ)
r("60-snaplen-64.pcap",0,"snaplen_64","as 01 (xrdp, /sec:tls, 800x600) captured with tcpdump -s 64: no payload byte and not even the last TCP option bytes are kept; only the IP lengths show 65 kB from the server; client FIN, RST",
  "established","session_data","-","closed_by_client","-","198,200",OK, "capinfos -l {f}; tshark -r {f} -T fields -e frame.number -e ip.src -e ip.len -e tcp.flags.str")
r("61-snaplen-128.pcap",0,"snaplen_128","as 01 captured with tcpdump -s 128",
  "established","session_data","-","closed_by_client","-","181,183",OK, "capinfos -l {f}; tshark -r {f}"+FINRST)
r("62-snaplen-96-nla.pcap",0,"snaplen_96_nla","as 03 (freerdp-shadow-cli /sec:nla, xfreerdp lab/labpass) captured with tcpdump -s 96",
  "established","session_data","-","closed_by_client","-","116,118",OK, "capinfos -l {f}; tshark -r {f}"+FINRST)
r("63-two-interfaces-long.pcapng",0,"two_interfaces_long","xfreerdp /sec:tls against xrdp for 25 s with pointer input all along, captured by dumpcap on both router interfaces (rc, rs): each packet twice (TTL 64/63 by side), so tshark flags 313 retransmissions and duplicate ACKs; frames are written per interface, not in time order",
  "established","session_data","-","closed_by_client","-","785,787,788,790",OK,
  "tshark -r {f} -Y 'tcp.flags.fin==1||tcp.flags.reset==1||tcp.flags.syn==1' -T fields -e frame.number -e frame.time_relative -e frame.interface_name -e ip.ttl -e tcp.flags.str")
r("64-router-any.pcap",0,"router_any","as 01 captured with tcpdump -i any on the router (LINUX_SLL2): each packet on rc (ifindex 2) and rs (ifindex 3)",
  "established","session_data","-","closed_by_client","-","361,362,365,366",OK,
  "tshark -r {f} -Y 'tcp.flags.fin==1||tcp.flags.reset==1||tcp.flags.syn==1' -T fields -e frame.number -e sll.ifindex -e ip.ttl -e tcp.flags.str")
r("66-port-3390.pcap",0,"port_3390","as 01 with xrdp listening on port 3390 (port=3390), xfreerdp /v:198.51.100.20:3390",
  "established","session_data","-","closed_by_client","-","171,173",OK,
  "tshark -r {f} -d tcp.port==3390,tls -Y 'tcp.flags.fin==1||tcp.flags.reset==1||tcp.flags.syn==1||tls.handshake.type' -T fields -e frame.number -e ip.src -e tcp.flags.str -e _ws.col.Info")
r("69-shadow-killed.pcap",0,"shadow_killed","xfreerdp /sec:nla against freerdp-shadow-cli; the lab moves the client's pointer every 0.2 s from 2 s on; 4 s in the server process is killed (SIGKILL): its kernel sends FIN while the client is sending input; the client's close_notify draws the server's RST",
  "established","session_data","-","closed_by_server","server_closed","129,131,132,133",
  "BIO_read returned a system error 0: Success; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131", SEQ, "high")
r("50-sub-second-session.pcap",0,"sub_second_session","xfreerdp /sec:tls against xrdp, stopped (SIGINT) 0.8 s after its log says the connection is active: the login screen (65 kB) has arrived; client FIN 0.85 s after the last screen data, no close_notify; the server's close_notify draws an RST",
  "established","session_data","-","closed_by_client","-","189,191","none (stopped by the lab with SIGINT; exit 130)", SEQ)
r("51-quit-during-connection.pcap",0,"quit_during_connection","xfreerdp /sec:tls against xrdp, sent SIGINT while it joins the MCS channels; it acts on it only after the connection sequence: after the finalization records (server records of 36-69 bytes, no screen data) the client closes with data unread, so its kernel sends RST/ACK and no FIN. The user gave up; nothing failed, but the capture shows a client that reset the connection just before the session",
  "failed","mcs_connect_response","session_data","reset_by_client","client_aborted","64,67","none (stopped by the lab with SIGINT; exit 130)", SEQ, "low")
r("54-long-session-screen-updates.pcap",0,"long_session_screen_updates","xfreerdp /sec:nla /bpp:16 lab/labpass against freerdp-shadow-cli, whose Xvfb shows a small xeyes; 34.5 s: the lab moves the client's pointer every 0.2 s for 12 s, rests 10 s, moves it 8 s more; the server sends screen updates while the pointer moves; captured with -s 200; stopped by the lab (SIGINT): FIN, RST",
  "established","session_data","-","closed_by_client","-","474,476",OK,
  "capinfos -l -u {f}; tshark -r {f} -q -z io,stat,5,'ip.src==198.51.100.20 && tcp.len>0'; tshark -r {f}"+FINRST)
r("65-ipv6.pcap",0,"ipv6","as 01 over IPv6 (client 2001:db8:c::10, server 2001:db8:5::20, router 2001:db8:c::1 / 2001:db8:5::1; the server's hop limit 63 at the client); two ICMPv6 router solicitations in the capture are not part of the connection",
  "established","session_data","-","closed_by_client","-","193,195",OK,
  "tshark -r {f} -d tcp.port==3389,tls -Y 'tcp.flags.fin==1||tcp.flags.reset==1||tcp.flags.syn==1||icmpv6' -T fields -e frame.number -e ipv6.src -e ipv6.hlim -e tcp.flags.str -e _ws.col.Info")
r("67-shadow-tls.pcap",0,"shadow_tls","freerdp-shadow-cli /sec:tls -auth (its own authentication off), xfreerdp /sec:tls: TLS 1.3, connection sequence, the shadowed screen (4 full segments and more); stopped after 5 s: client FIN, the server's close_notify, RST",
  "established","session_data","-","closed_by_client","-","112,114",OK, SEQ)
r("68-shadow-tls-pam-denied.pcap",0,"shadow_tls_pam_denied","freerdp-shadow-cli /sec:tls with its default authentication, xfreerdp /sec:tls without credentials: the connection sequence completes (finalization records, no screen data), then the server checks the empty user with PAM (its log: pam_authenticate failure) and 2.3 s later sends close_notify, FIN and RST/ACK",
  "failed","mcs_connect_response","session_data","closed_by_server","server_denied_session","69,71,73,74",
  "BIO_read returned a system error 0: Success; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131", SEQ, "medium")
hdr = "file stream scenario what_was_done outcome last_step failed_step ended_by cause evidence_frames client_error checked_with max_failure_confidence".split()
with open(sys.argv[1],"w") as fh:
    fh.write("\t".join(hdr)+"\n")
    for row in rows:
        assert len(row)==13 and all("\t" not in c and "\n" not in c for c in row)
        fh.write("\t".join(row)+"\n")
print(len(rows))
