import csv, sys
T = "tshark -r {f} -d tcp.port==3389,tls"
X224 = "tshark -r {f} -Y 'cotp.type==0x0d' -T fields -e frame.number -e rdp.negReq.selectedProtocol -e rdp.negFailure.failureCode"
FINRST = " -Y 'tcp.flags.fin==1 || tcp.flags.reset==1' -T fields -e frame.number -e ip.ttl -e tcp.flags.str"
HS = " -Y 'tls.handshake.type || tls.alert_message || tls.record.content_type==21' -T fields -e frame.number -e ip.src -e tls.handshake.type -e tls.alert_message.desc"
OK = "none (stopped by the lab with SIGINT; exit 124 from timeout)"
rows = []
def r(f, stream, sc, what, outcome, last, failed, ended, cause, ev, err, chk):
    rows.append([f, str(stream), sc, what, outcome, last, failed, ended, cause, ev, err, chk.format(f=f)])

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
  "failed","tls_server_finished","mcs_connect_initial","tls_alert","cert_rejected_expired","10,13,14",
  "Certificate verification failure 'certificate has expired (10)'; "+CERTERR, CERTCHK)
r("14-cert-self-signed.pcap",0,"cert_self_signed","xrdp with a self-signed certificate (valid dates, right name); xfreerdp /sec:tls /cert:deny, empty known_hosts; client sends an encrypted alert and FIN after the handshake",
  "failed","tls_server_finished","mcs_connect_initial","tls_alert","cert_rejected_self_signed","10,14,15",
  "Certificate verification failure 'self-signed certificate (18)'; "+CERTERR, CERTCHK)
r("15-cert-name-mismatch.pcap",0,"cert_name_mismatch","xrdp with a lab-CA certificate for other-host.lab; xfreerdp /v:198.51.100.20 /sec:tls /cert:deny with SSL_CERT_FILE = lab CA; client sends an encrypted alert and FIN after the handshake",
  "failed","tls_server_finished","mcs_connect_initial","tls_alert","cert_rejected_name_mismatch","10,13,14",
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
  "failed","tls_server_finished","mcs_connect_initial","tls_alert","cert_rejected_not_yet_valid","9,12,13",
  "Certificate verification failure 'certificate is not yet valid (9)'; "+CERTERR, CERTCHK)
r("37-tls-cipher-mismatch.pcap",0,"tls_cipher_mismatch","xrdp security_layer=tls ssl_protocols=TLSv1.2 tls_ciphers=CAMELLIA256-SHA:ARIA256-GCM-SHA384; xfreerdp /sec:tls with its default list (OpenSSL 3 DEFAULT: 30 suites, no Camellia, no ARIA); the server answers the ClientHello with alert handshake_failure (40) (xrdp log: no shared cipher), then sends an MCS Disconnect Provider Ultimatum in the clear; client FIN, RST",
  "failed","tls_client_hello","tls_server_hello","tls_alert","tls_cipher_mismatch","8,9",
  "transport_connect_tls: ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]; exit 143",
  T+HS+"; "+T+" -Y 'frame.number==8' -T fields -e tls.handshake.ciphersuite; tshark -r {f} -Y 'frame.number==11' -x")
r("38-idle-timeout.pcap",0,"idle_timeout","router conntrack: established-TCP timeout 20 s, nf_conntrack_tcp_loose=0, FORWARD ctstate INVALID -j DROP; xrdp TLS session idle at the login screen with no keep-alives (xfreerdp's SO_KEEPALIVE switched off by an LD_PRELOAD shim) for 33 s; then mouse input: the router has forgotten the connection and drops it; the client retransmits (TLP, then RTO 0.45..3.5 s) and its TCP_USER_TIMEOUT (9 s) ends the connection without FIN or RST; 15 s later a ping to the server is answered",
  "established","session_data","-","timeout","idle_timeout","170,171,173,175,176,177,178,179",
  "BIO_read returned a system error 110: Connection timed out; ERRCONNECT_CONNECT_TRANSPORT_FAILED [0x0002000D]; exit 131",
  T+" -Y 'frame.number>=169' -T fields -e frame.number -e frame.time_relative -e ip.src -e ip.ttl -e tcp.seq -e tcp.len -e _ws.col.Info")
hdr = "file stream scenario what_was_done outcome last_step failed_step ended_by cause evidence_frames client_error checked_with".split()
with open(sys.argv[1],"w") as fh:
    fh.write("\t".join(hdr)+"\n")
    for row in rows:
        assert len(row)==12 and all("\t" not in c and "\n" not in c for c in row)
        fh.write("\t".join(row)+"\n")
print(len(rows))
