# shellcheck shell=bash
# One function per scenario: sc_<NN>_<name>. Each writes $OUT/NN-name.pcap
# (or .pcapng / .pcap.gz). Servers run in rtl-s, the client in rtl-c, the
# router rtl-r forwards between them; the capture is taken in the client
# namespace on c0 unless said otherwise.

# keep the client's own account of the failure next to the capture
save_client_log() {
    local name=$1 out=$2
    mkdir -p "$OUT/client-logs"
    {
        grep -E '\[(ERROR|WARN)\]|Certificate verification failure|NAME MISMATCH' "$WORK/$name.client.log" |
            grep -v 'com.freerdp.utils' |
            sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] //' | tail -n 12
        tail -n 1 "$WORK/$name.client.log"
    } >"$OUT/client-logs/$out.txt"
}

# Capture of a client run against whatever server is up.
# capture_run OUTNAME SECONDS CLIENT-ARGS...
capture_run() {
    local out=$1 secs=$2
    shift 2
    cap_start "$OUT/$out.pcap"
    run_client "$out" "$secs" "$@"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

# ------------------------------------------------------------ successes
sc_01_success_tls() {
    xrdp_start "$(xrdp_conf tls security_layer=negotiate)"
    capture_run 01-success-tls 6 /sec:tls /cert:ignore
}

sc_02_success_rdp_security() {
    # Debian's xrdp accepts FreeRDP's Standard RDP Security only at fips
    xrdp_start "$(xrdp_conf rdp security_layer=rdp crypt_level=fips)"
    capture_run 02-success-rdp-security 6 /sec:rdp /cert:ignore
}

sc_03_success_nla() {
    shadow_start /sec:nla
    capture_run 03-success-nla 8 /sec:nla /u:lab /p:labpass /cert:ignore
}

sc_04_success_tls13() {
    # Debian's default ssl_protocols: TLS 1.3 is chosen, the certificate is
    # encrypted on the wire.
    xrdp_start "$(xrdp_conf tls13 security_layer=negotiate 'ssl_protocols=TLSv1.2, TLSv1.3')"
    capture_run 04-success-tls13 6 /sec:tls /cert:ignore
}

# ------------------------------------------------------------ NLA failure
sc_05_nla_wrong_password() {
    shadow_start /sec:nla
    capture_run 05-nla-wrong-password 15 /sec:nla /u:lab /p:wrongpass /cert:ignore
}

# ------------------------------------------------------------ TCP
sc_06_port_closed() {
    # nothing listens on 3389 in the server namespace: its kernel answers RST
    capture_run 06-port-closed 15 /sec:tls /cert:ignore
}

sc_07_firewall_drop() {
    xrdp_start "$(xrdp_conf drop)"
    in_r iptables -A FORWARD -p tcp --dport "$RDP_PORT" --syn -j DROP
    capture_run 07-firewall-drop 40 /sec:tls /cert:ignore
}

sc_08_icmp_admin_prohibited() {
    xrdp_start "$(xrdp_conf icmp)"
    in_r iptables -A FORWARD -p tcp --dport "$RDP_PORT" --syn -j REJECT --reject-with icmp-admin-prohibited
    capture_run 08-icmp-admin-prohibited 20 /sec:tls /cert:ignore
}

# ------------------------------------------------------------ X.224 negotiation
sc_09_ssl_required_by_server() {
    shadow_start /sec:tls
    capture_run 09-ssl-required-by-server 15 /sec:rdp
}

sc_10_ssl_not_allowed_by_server() {
    # FreeRDP's server limited to Standard RDP Security, client TLS only
    shadow_start /sec:rdp
    capture_run 10-ssl-not-allowed-by-server 15 /sec:tls /cert:ignore
}

sc_11_hybrid_required_by_server() {
    shadow_start /sec:nla
    capture_run 11-hybrid-required-by-server 15 /sec:tls /cert:ignore
}

# ------------------------------------------------------------ TLS
sc_12_tls_version_mismatch() {
    # server limited to TLS 1.0/1.1 (security level 0 so its OpenSSL really
    # offers them), client enforces TLS 1.2 or newer
    xrdp_start "$(xrdp_conf oldtls security_layer=tls 'ssl_protocols=TLSv1, TLSv1.1' 'tls_ciphers=DEFAULT:@SECLEVEL=0')"
    capture_run 12-tls-version-mismatch 15 /sec:tls /cert:ignore +enforce-tlsv1_2
}

sc_13_cert_expired() {
    # the client trusts the lab CA; the only defect is the validity period
    xrdp_start "$(xrdp_conf expired security_layer=tls "certificate=$WORK/pki/expired.pem" "key_file=$WORK/pki/expired.key")"
    CLIENT_ENV="SSL_CERT_FILE=$WORK/pki/ca.pem" capture_run 13-cert-expired 15 /sec:tls /cert:deny
}

sc_14_cert_self_signed() {
    xrdp_start "$(xrdp_conf self security_layer=tls "certificate=$WORK/pki/self.pem" "key_file=$WORK/pki/self.key")"
    capture_run 14-cert-self-signed 15 /sec:tls /cert:deny
}

sc_15_cert_name_mismatch() {
    xrdp_start "$(xrdp_conf other security_layer=tls "certificate=$WORK/pki/other.pem" "key_file=$WORK/pki/other.key")"
    CLIENT_ENV="SSL_CERT_FILE=$WORK/pki/ca.pem" capture_run 15-cert-name-mismatch 15 /sec:tls /cert:deny
}

unreadable_key() {
    cp "$WORK/pki/good.key" "$WORK/pki/unreadable.key"
    chown root:root "$WORK/pki/unreadable.key"
    chmod 0600 "$WORK/pki/unreadable.key"
}

sc_16_key_unreadable() {
    # the key exists but user xrdp cannot read it (root:root 0600); the
    # server requires TLS
    unreadable_key
    xrdp_start "$(xrdp_conf unreadable security_layer=tls "key_file=$WORK/pki/unreadable.key")"
    capture_run 16-key-unreadable 15 /sec:tls /cert:ignore
}

sc_17_key_mismatch() {
    # the key file is readable but belongs to no certificate
    xrdp_start "$(xrdp_conf mismatch security_layer=negotiate "key_file=$WORK/pki/stray.key")"
    capture_run 17-key-mismatch 15 /sec:tls /cert:ignore
}

# ------------------------------------------------------------ middlebox
U32_FIRST_BYTE_16='0>>22&0x3C@12>>26&0x3C@0>>24=0x16'
U32_X224_CC='0>>22&0x3C@12>>26&0x3C@4>>16&0xFF=0xd0'

sc_18_middlebox_reset_tls() {
    xrdp_start "$(xrdp_conf mbtls security_layer=negotiate)"
    # the router answers the client's first TLS record (the ClientHello) with
    # a forged RST (TTL 64: the router's own) and drops it
    in_r iptables -A FORWARD -i rc -p tcp --dport "$RDP_PORT" -m u32 --u32 "$U32_FIRST_BYTE_16" \
        -j REJECT --reject-with tcp-reset
    capture_run 18-middlebox-reset-tls 15 /sec:tls /cert:ignore
}

sc_19_middlebox_reset_session() {
    xrdp_start "$(xrdp_conf mbsess security_layer=negotiate)"
    local out=19-middlebox-reset-session
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 15 /sec:tls /cert:ignore
    sleep 4
    # mid-session the router starts rejecting the client's packets with
    # forged RSTs
    in_r iptables -A FORWARD -i rc -p tcp --dport "$RDP_PORT" -j REJECT --reject-with tcp-reset
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_20_mtu_black_hole() {
    xrdp_start "$(xrdp_conf mtu security_layer=negotiate)"
    # the router's link toward the client carries 576-byte packets only; the
    # client's own MTU is 1500 so it advertises MSS 1460; the router's ICMP
    # fragmentation-needed messages are dropped before they leave it.
    # Captured on both sides: the client never sees the large segments, the
    # server's side shows them retransmitted.
    in_r ip link set rc mtu 576
    in_r iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
    local out=20-mtu-black-hole
    rm -f "$OUT/$out-server.pcap"
    ip netns exec "$NS_S" tcpdump -Z root -U -n -i s0 -w "$OUT/$out-server.pcap" "$CAP_FILTER" \
        >"$WORK/tcpdump-s.log" 2>&1 &
    local scap=$!
    capture_run "$out" 25 /sec:tls /cert:ignore
    kill -INT "$scap"
    wait "$scap"
    chmod 0644 "$OUT/$out-server.pcap"
}

# ------------------------------------------------------------ stalls
sc_21_stall_after_tcp_handshake() {
    xrdp_start "$(xrdp_conf stall1 security_layer=negotiate)"
    local p
    for p in $(server_pids "$XRDP_PID"); do kill -STOP "$p"; done
    capture_run 21-stall-after-tcp-handshake 30 /sec:tls /cert:ignore
}

sc_22_stall_after_connection_confirm() {
    xrdp_start "$(xrdp_conf stall2 security_layer=negotiate)"
    local out=22-stall-after-connection-confirm
    # The router holds back the server's first Connection Confirm, so that the
    # server can be stopped right after sending it and before the client's
    # ClientHello reaches it; the server's kernel then retransmits the
    # Connection Confirm, which passes. The client side sees one Confirm.
    in_r iptables -A FORWARD -i rs -p tcp --sport "$RDP_PORT" -m u32 --u32 "$U32_X224_CC" -j DROP
    in_s timeout 20 tcpdump -i s0 -n -c 1 "tcp src port $RDP_PORT and tcp[((tcp[12]>>4)*4)+5]=0xd0" \
        >"$WORK/stall2-watch.log" 2>&1 &
    local watch=$!
    sleep 1
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 30 /sec:tls /cert:ignore
    wait "$watch"
    local p
    for p in $(server_pids "$XRDP_PID"); do kill -STOP "$p"; done
    in_r iptables -F FORWARD
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

# ------------------------------------------------------------ capture variants
sc_23_snaplen_96() {
    xrdp_start "$(xrdp_conf snap security_layer=negotiate)"
    local out=23-snaplen-96
    cap_start "$OUT/$out.pcap" "$NS_C" -i c0 -s 96
    run_client "$out" 6 /sec:tls /cert:ignore
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_24_capture_mid_connection() {
    # the capture starts 0.8 s after the TCP connection is up: after the
    # X.224 and TLS handshakes, while the login screen is still being drawn
    xrdp_start "$(xrdp_conf mid security_layer=negotiate)"
    local out=24-capture-mid-connection
    client_display
    run_client_bg "$out" 6 /sec:tls /cert:ignore
    local i
    for i in $(seq 100); do
        in_c ss -Htn state established "dport = :$RDP_PORT" | grep -q . && break
        sleep 0.05
    done
    sleep 0.8
    cap_start "$OUT/$out.pcap"
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_25_two_interfaces() {
    xrdp_start "$(xrdp_conf twoif security_layer=negotiate)"
    local out=25-two-interfaces
    local f="$OUT/$out.pcapng"
    rm -f "$f"
    # dumpcap on both router interfaces: each packet appears twice, once per
    # interface (TTL 64 on rc's side of the server's packets is 63)
    ip netns exec "$NS_R" dumpcap -q -i rc -i rs -f "$CAP_FILTER" -w "$f" >"$WORK/dumpcap.log" 2>&1 &
    local cap=$!
    sleep 2
    run_client "$out" 5 /sec:tls /cert:ignore
    sleep 1
    kill -INT "$cap"
    wait "$cap"
    chmod 0644 "$f"
    save_client_log "$out" "$out"
}

sc_26_success_tls_gzip() {
    xrdp_start "$(xrdp_conf gz security_layer=negotiate)"
    local out=26-success-tls-gzip
    capture_run "$out" 5 /sec:tls /cert:ignore
    gzip -9 -n -f "$OUT/$out.pcap"
}

sc_27_linux_cooked_sll2() {
    xrdp_start "$(xrdp_conf sll2 security_layer=negotiate)"
    local out=27-linux-cooked-sll2
    cap_start "$OUT/$out.pcap" "$NS_C" -i any
    run_client "$out" 5 /sec:tls /cert:ignore
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_28_linux_cooked_sll() {
    xrdp_start "$(xrdp_conf sll security_layer=negotiate)"
    local out=28-linux-cooked-sll
    cap_start "$OUT/$out.pcap" "$NS_C" -i any -y LINUX_SLL
    run_client "$out" 5 /sec:tls /cert:ignore
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

# ------------------------------------------------------------ more
sc_29_xrdp_rdp_only_tls_client() {
    # xrdp limited to Standard RDP Security answers a TLS-only request by
    # selecting PROTOCOL_RDP (no failure code); the client gives up
    xrdp_start "$(xrdp_conf rdponly security_layer=rdp crypt_level=fips)"
    capture_run 29-xrdp-rdp-only-tls-client 15 /sec:tls /cert:ignore
}

sc_30_key_unreadable_fallback() {
    # as 16 but security_layer=negotiate: xrdp falls back to Standard RDP
    # Security, which a TLS-only client refuses
    unreadable_key
    xrdp_start "$(xrdp_conf unreadable2 security_layer=negotiate "key_file=$WORK/pki/unreadable.key")"
    capture_run 30-key-unreadable-fallback 15 /sec:tls /cert:ignore
}

sc_31_tls_no_usable_version() {
    # xrdp limited to TLS 1.0/1.1 at OpenSSL 3's default security level,
    # which allows neither: the server's TLS stack fails
    xrdp_start "$(xrdp_conf oldtls2 security_layer=tls 'ssl_protocols=TLSv1, TLSv1.1')"
    capture_run 31-tls-no-usable-version 15 /sec:tls /cert:ignore +enforce-tlsv1_2
}

sc_32_wrong_service_on_port() {
    # another service (Python's http.server) listens on 3389: it answers the
    # Connection Request with an HTTP error and closes
    ip netns exec "$NS_S" python3 -m http.server --bind "$S_IP" "$RDP_PORT" \
        >"$WORK/http.log" 2>&1 &
    LAB_PIDS+=("$!")
    wait_listen || log "http.server did not listen"
    capture_run 32-wrong-service-on-port 15 /sec:tls /cert:ignore
}

sc_33_capture_ends_early() {
    # a successful connection, but tcpdump stops after 9 packets (-c 9), in
    # the middle of the TLS handshake
    xrdp_start "$(xrdp_conf early security_layer=negotiate)"
    local out=33-capture-ends-early
    cap_start "$OUT/$out.pcap" "$NS_C" -i c0 -c 9
    run_client "$out" 6 /sec:tls /cert:ignore
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_34_path_dropped_mid_session() {
    # an xrdp TLS session at the login screen; 3 s in, the router starts
    # dropping everything on port 3389 both ways (a stateful device that
    # forgot the connection, or a broken path): the client's keep-alives go
    # unanswered until its kernel gives up
    xrdp_start "$(xrdp_conf dropmid security_layer=negotiate)"
    local out=34-path-dropped-mid-session
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 60 /sec:tls /cert:ignore
    sleep 3
    in_r iptables -A FORWARD -p tcp --dport "$RDP_PORT" -j DROP
    in_r iptables -A FORWARD -p tcp --sport "$RDP_PORT" -j DROP
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_35_client_zero_window() {
    # the client stops reading (xfreerdp SIGSTOPped during the connection
    # sequence, small receive buffer in the client namespace) while xrdp
    # sends the login screen: the client's window goes to zero and xrdp
    # probes it; the lab kills the client after 15 s
    in_c sysctl -q -w net.ipv4.tcp_rmem="4096 8192 16384"
    xrdp_start "$(xrdp_conf zwin security_layer=negotiate)"
    local out=35-client-zero-window
    cap_start "$OUT/$out.pcap"
    client_display
    run_client_bg "$out" 30 /sec:tls /cert:ignore
    # stop xfreerdp once its log shows the MCS phase, while xrdp is still
    # sending the login screen
    local i p
    for i in $(seq 200); do
        grep -q 'rdp_client_transition_to_state CONNECTION_STATE_NEGO --> CONNECTION_STATE_MCS_CREATE_REQUEST\|CONNECTION_STATE_MCS' \
            "$WORK/$out.client.log" 2>/dev/null && break
        sleep 0.02
    done
    p=$(ip netns pids "$NS_C" | while read -r q; do
        [ "$(cat /proc/"$q"/comm 2>/dev/null)" = xfreerdp ] && echo "$q"
    done)
    [ -n "$p" ] && kill -STOP $p
    sleep 15
    [ -n "$p" ] && kill -KILL $p
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_36_cert_not_yet_valid() {
    # as 13, but the certificate's validity starts in the future
    # (2035-01-01 .. 2036-01-01); the client trusts the lab CA
    xrdp_start "$(xrdp_conf future security_layer=tls "certificate=$WORK/pki/future.pem" "key_file=$WORK/pki/future.key")"
    CLIENT_ENV="SSL_CERT_FILE=$WORK/pki/ca.pem" capture_run 36-cert-not-yet-valid 15 /sec:tls /cert:deny
}

sc_37_tls_cipher_mismatch() {
    # xrdp (TLS 1.2 only) allows only Camellia and ARIA suites, which are not
    # in OpenSSL 3's DEFAULT list that xfreerdp offers: no shared cipher
    xrdp_start "$(xrdp_conf ciphers security_layer=tls 'tls_ciphers=CAMELLIA256-SHA:ARIA256-GCM-SHA384')"
    capture_run 37-tls-cipher-mismatch 15 /sec:tls /cert:ignore
}

sc_38_idle_timeout() {
    # The router is a stateful firewall: conntrack with a 20 s timeout for
    # established TCP connections, no loose pickup of mid-stream packets, and
    # packets of no known connection (ctstate INVALID) dropped. An xrdp TLS
    # session sits idle at the login screen for 35 s; xfreerdp's TCP
    # keep-alives are switched off (LD_PRELOAD shim: FreeRDP 2 sets
    # SO_KEEPALIVE with a 5 s idle time, which would keep the entry alive;
    # xrdp's keep-alive idle time is the kernel's 2 h). Then the lab moves the
    # client's mouse (XTEST): xfreerdp sends input, the router no longer knows
    # the connection and drops it; the client retransmits until its
    # TCP_USER_TIMEOUT (FreeRDP: 9 s) ends the connection.
    cc -shared -fPIC -o "$WORK/no-keepalive.so" "$HERE/no-keepalive.c" -ldl
    in_r iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
    in_r sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0
    in_r sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=20
    xrdp_start "$(xrdp_conf idle security_layer=negotiate)"
    local out=38-idle-timeout
    local rlog=$OUT/client-logs/$out-router.txt
    mkdir -p "$OUT/client-logs"
    cap_start "$OUT/$out.pcap"
    CLIENT_ENV="LD_PRELOAD=$WORK/no-keepalive.so" run_client_bg "$out" 70 /sec:tls /cert:ignore
    # the router's connection table while the session is idle: the entry is
    # there at 10 s and gone (expired) at 35 s
    sleep 10
    { echo "# router conntrack table 10 s after the client started"; in_r cat /proc/net/nf_conntrack; } >"$rlog" 2>&1
    sleep 25
    { echo "# router conntrack table 35 s after the client started (just before the input)"; in_r cat /proc/net/nf_conntrack; } >>"$rlog" 2>&1
    in_c env DISPLAY=":$C_DISPLAY" /usr/bin/python3 "$HERE/x-pointer.py" 300,300 320,310 340,320
    wait "$CLIENT_BG"
    # keep capturing: the client's retransmissions have stopped for good
    # (its next one would have been due about 7 s after the last). A pcap has
    # no end-of-capture record, so one ping from the client to the server
    # marks that the capture ran on; its answer also shows the path and the
    # server alive while the TCP connection is dead.
    sleep 15
    in_c ping -c 1 -W 2 "$S_IP" >/dev/null
    cap_stop "$OUT/$out.pcap"
    { echo "# router FORWARD counters at the end"; in_r iptables -L FORWARD -v -n -x; } >>"$rlog" 2>&1
    save_client_log "$out" "$out"
}

# ============================================================ 39 onward
# Other implementations, session shapes and capture conditions. Most of
# them are healthy or benign: they are here so that a healthy connection of
# another shape is not taken for a failure.

# keep the output of a client that is not xfreerdp (its last lines, without
# progress bars or colour codes) and its exit code
save_tool_log() {
    local name=$1 out=$2
    mkdir -p "$OUT/client-logs"
    {
        sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$WORK/$name.client.log" | tr '\r' '\n' |
            grep -v -E '^\s*$|it/s\]|[0-9]+/s\]|Running as user' | grep -v '^exit=' | tail -n 14
        tail -n 1 "$WORK/$name.client.log"
    } >"$OUT/client-logs/$out.txt"
}

# a program other than xfreerdp, captured on c0
capture_tool() {
    local out=$1 secs=$2
    shift 2
    cap_start "$OUT/$out.pcap"
    run_tool "$out" "$secs" "$@"
    cap_stop "$OUT/$out.pcap"
    save_tool_log "$out" "$out"
}

# rdesktop asks on stdin whether to trust a certificate it cannot verify;
# rdesktop_run OUT SECONDS ANSWER ARGS... answers ANSWER after 1 s
rdesktop_run() {
    local out=$1 secs=$2 answer=$3
    shift 3
    client_display
    local home=$WORK/client-home-$out
    rm -rf "$home"
    mkdir -p "$home"
    cap_start "$OUT/$out.pcap"
    (sleep 1; printf '%s\n' "$answer"; sleep $((secs + 2))) |
        in_c env HOME="$home" DISPLAY=":$C_DISPLAY" timeout -s INT -k 5 "$secs" \
            rdesktop -g 800x600 "$@" "$S_IP:$RDP_PORT" >"$WORK/$out.client.log" 2>&1
    CLIENT_RC=$?
    echo "exit=$CLIENT_RC" >>"$WORK/$out.client.log"
    log "rdesktop $out exit $CLIENT_RC"
    cap_stop "$OUT/$out.pcap"
    save_tool_log "$out" "$out"
}

# ------------------------------------------------------------ rdesktop
sc_39_rdesktop_tls() {
    # rdesktop 1.9 (GnuTLS) negotiates TLS with xrdp; it cannot verify the
    # lab CA's certificate and asks: the answer is yes. Stopped after 5 s.
    xrdp_start "$(xrdp_conf rdtls security_layer=negotiate)"
    rdesktop_run 39-rdesktop-tls 5 yes
}

sc_40_rdesktop_cert_rejected() {
    # as 39, but the user answers no: rdesktop aborts inside the TLS
    # handshake, after the server's Certificate
    xrdp_start "$(xrdp_conf rdno security_layer=negotiate)"
    rdesktop_run 40-rdesktop-cert-rejected 10 no
}

sc_41_rdesktop_rdp_security() {
    # rdesktop -E against xrdp limited to Standard RDP Security
    # (crypt_level=low): rdesktop fails on the server's first channel data
    # ('channel_process(), unexpected stream overrun') and closes
    xrdp_start "$(xrdp_conf rdlow security_layer=rdp crypt_level=low)"
    rdesktop_run 41-rdesktop-rdp-security 10 yes -E
}

sc_42_rdesktop_fips_rejected() {
    # rdesktop -E against xrdp at crypt_level=fips: xrdp rejects the Client
    # Info's security header and sends MCS Disconnect Provider Ultimatum
    xrdp_start "$(xrdp_conf rdfips security_layer=rdp crypt_level=fips)"
    rdesktop_run 42-rdesktop-fips-rejected 10 yes -E
}

# ------------------------------------------------------------ impacket
IMPACKET_RDP_CHECK=/usr/share/doc/python3-impacket/examples/rdp_check.py

sc_43_impacket_rdp_check() {
    # impacket's rdp_check: CredSSP/NTLM against freerdp-shadow-cli (NLA,
    # SAM file), right password: 'Access Granted', then it disconnects
    shadow_start /sec:nla
    capture_tool 43-impacket-rdp-check 20 "$PY3" "$IMPACKET_RDP_CHECK" lab:labpass@"$S_IP"
}

sc_44_impacket_rdp_check_wrong_password() {
    shadow_start /sec:nla
    capture_tool 44-impacket-rdp-check-wrong-password 20 "$PY3" "$IMPACKET_RDP_CHECK" lab:wrongpass@"$S_IP"
}

# ------------------------------------------------------------ nmap
sc_45_nmap_enum_encryption_xrdp() {
    # nmap's rdp-enum-encryption: a SYN scan of the port, then one
    # connection per security protocol and, for Standard RDP Security, per
    # encryption level
    xrdp_start "$(xrdp_conf nmapx security_layer=negotiate)"
    capture_tool 45-nmap-enum-encryption-xrdp 60 nmap -n -Pn -p "$RDP_PORT" --script rdp-enum-encryption "$S_IP"
}

sc_46_nmap_enum_encryption_nla() {
    # the same probe against freerdp-shadow-cli with NLA required
    shadow_start /sec:nla
    capture_tool 46-nmap-enum-encryption-nla 60 nmap -n -Pn -p "$RDP_PORT" --script rdp-enum-encryption "$S_IP"
}

sc_47_nmap_ntlm_info() {
    # nmap's rdp-ntlm-info: CredSSP NEGOTIATE to get the server's NTLM
    # CHALLENGE (names, version), then it hangs up
    shadow_start /sec:nla
    capture_tool 47-nmap-ntlm-info 60 nmap -n -Pn -p "$RDP_PORT" --script rdp-ntlm-info "$S_IP"
}

# ------------------------------------------------------------ aardwolf
sc_48_aardwolf_xrdp() {
    # aardwolf's screenshot scanner, no credentials, against xrdp (TLS):
    # xrdp rejects aardwolf's MCS sequence and closes
    xrdp_start "$(xrdp_conf aw security_layer=negotiate)"
    local d=$WORK/aardwolf-48
    mkdir -p "$d"
    cap_start "$OUT/48-aardwolf-xrdp.pcap"
    (cd "$d" && run_tool 48-aardwolf-xrdp 40 "$AARDWOLF_VENV/bin/ardpscan" --no-progress -e -t 10 -s screen "rdp://$S_IP" "$S_IP")
    cap_stop "$OUT/48-aardwolf-xrdp.pcap"
    save_tool_log 48-aardwolf-xrdp 48-aardwolf-xrdp
}

sc_49_aardwolf_nla() {
    # aardwolf with CredSSP/NTLM and the right password against
    # freerdp-shadow-cli: the server rejects aardwolf's NTLM token
    # (SEC_E_INVALID_TOKEN) and closes
    shadow_start /sec:nla
    local d=$WORK/aardwolf-49
    mkdir -p "$d"
    cap_start "$OUT/49-aardwolf-nla.pcap"
    (cd "$d" && run_tool 49-aardwolf-nla 40 "$AARDWOLF_VENV/bin/ardpscan" --no-progress -e -t 10 -s screen "rdp+ntlm-password://lab:labpass@$S_IP" "$S_IP")
    cap_stop "$OUT/49-aardwolf-nla.pcap"
    save_tool_log 49-aardwolf-nla 49-aardwolf-nla
    grep -a 'ERROR' "$WORK/shadow/shadow.log" | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] //' | head -n 3 \
        >"$OUT/client-logs/49-aardwolf-nla-server.txt"
}

# ------------------------------------------------------------ session shapes
# wait_client_state NAME STATE : until xfreerdp's log shows the transition
# to CONNECTION_STATE_STATE (at most 10 s)
wait_client_state() {
    local i
    for i in $(seq 200); do
        grep -q -- "--> CONNECTION_STATE_$2\$" "$WORK/$1.client.log" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

sc_50_sub_second_session() {
    # xfreerdp against xrdp, stopped (SIGINT) 0.8 s after its log says the
    # connection is active (the login screen is being sent)
    xrdp_start "$(xrdp_conf sub security_layer=negotiate)"
    local out=50-sub-second-session
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:tls /cert:ignore /size:800x600
    wait_client_state "$out" ACTIVE || log "$out: never active"
    sleep 0.8
    kill -INT $(client_pids xfreerdp)
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_51_quit_during_connection() {
    # xfreerdp stopped (SIGINT) when its log says it is joining the MCS
    # channels: the user gives up before the session is up
    xrdp_start "$(xrdp_conf quitearly security_layer=negotiate)"
    local out=51-quit-during-connection
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:tls /cert:ignore /size:800x600
    wait_client_state "$out" MCS_CHANNEL_JOIN || log "$out: no channel join"
    sleep 0.15
    kill -INT $(client_pids xfreerdp)
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_52_auth_only() {
    # xfreerdp /auth-only: NLA with the right password, then the client
    # disconnects by design (a credential check)
    shadow_start /sec:nla
    capture_run 52-auth-only 15 /auth-only /sec:nla /u:lab /p:labpass /cert:ignore
}

sc_53_auth_only_wrong_password() {
    shadow_start /sec:nla
    capture_run 53-auth-only-wrong-password 15 /auth-only /sec:nla /u:lab /p:wrongpass /cert:ignore
}

sc_54_long_session_screen_updates() {
    # freerdp-shadow-cli shares an Xvfb on which a small xeyes runs;
    # xfreerdp (NLA, 16 bpp) stays 35 s while the lab moves its pointer: the
    # input goes to the server, xeyes follows it and the server sends the
    # screen updates. Captured with -s 200 to keep the file small (the
    # screen updates are what fills it).
    shadow_start /sec:nla
    ip netns exec "$NS_S" env DISPLAY=":$S_DISPLAY" xeyes -geometry 60x45+0+0 >/dev/null 2>&1 &
    LAB_PIDS+=("$!")
    local out=54-long-session-screen-updates
    cap_start "$OUT/$out.pcap" "$NS_C" -i c0 -s 200
    run_client_bg "$out" 35 /sec:nla /u:lab /p:labpass /cert:ignore /size:800x600 /bpp:16
    wait_established
    sleep 3
    # 60 pointer positions, one every 0.2 s, then 10 s still, then 40 more
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 60)
    sleep 10
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 40)
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_55_window_closed() {
    # the user closes xfreerdp's window (WM_DELETE_WINDOW, as a window
    # manager's close button sends it) 4 s into the session
    xrdp_start "$(xrdp_conf closewin security_layer=negotiate)"
    local out=55-window-closed
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:tls /cert:ignore /size:800x600
    wait_established
    sleep 4
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-close.py" >"$WORK/$out.close.log" 2>&1
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_56_client_killed() {
    # xfreerdp killed with SIGKILL 4 s into the session: the client's
    # kernel closes the socket, no RDP or TLS goodbye
    xrdp_start "$(xrdp_conf ckill security_layer=negotiate)"
    local out=56-client-killed
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:tls /cert:ignore /size:800x600
    wait_established
    sleep 4
    kill -KILL $(client_pids xfreerdp)
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_57_server_killed() {
    # the xrdp process that serves the connection (the forked child) is
    # killed with SIGKILL 4 s into the session while the client sends
    # pointer input: the server's kernel closes, no RDP or TLS goodbye
    xrdp_start "$(xrdp_conf skill security_layer=negotiate)"
    local out=57-server-killed
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:tls /cert:ignore /size:800x600
    wait_established
    sleep 2
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 25) &
    local ptr=$!
    sleep 2
    local p
    for p in $(pgrep -P "$XRDP_PID"); do kill -KILL "$p"; done
    echo "killed xrdp children of $XRDP_PID at $(date -u +%T.%N)" >"$WORK/$out.kill.log"
    wait "$ptr"
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_58_capture_stopped_mid_session() {
    # tcpdump stopped 3 s into a session that goes on (client stopped by
    # the lab at 8 s, after the capture)
    xrdp_start "$(xrdp_conf capstop security_layer=negotiate)"
    local out=58-capture-stopped-mid-session
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 8 /sec:tls /cert:ignore /size:800x600
    wait_established
    sleep 3
    kill -INT "$CAP_PID"
    wait "$CAP_PID"
    CAP_PID=
    chmod 0644 "$OUT/$out.pcap"
    wait "$CLIENT_BG"
    save_client_log "$out" "$out"
}

sc_59_capture_started_mid_session() {
    # tcpdump started 4 s into a session (login screen long drawn) while
    # the lab moves the pointer; the client is stopped at 10 s
    xrdp_start "$(xrdp_conf capstart security_layer=negotiate)"
    local out=59-capture-started-mid-session
    run_client_bg "$out" 10 /sec:tls /cert:ignore /size:800x600
    wait_established
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 35) &
    local ptr=$!
    sleep 4
    cap_start "$OUT/$out.pcap"
    wait "$ptr"
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

# ------------------------------------------------------------ capture conditions
snaplen_run() {
    local out=$1 snap=$2
    shift 2
    cap_start "$OUT/$out.pcap" "$NS_C" -i c0 -s "$snap"
    run_client "$out" "$@"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_60_snaplen_64() {
    xrdp_start "$(xrdp_conf snap64 security_layer=negotiate)"
    snaplen_run 60-snaplen-64 64 5 /sec:tls /cert:ignore /size:800x600
}

sc_61_snaplen_128() {
    xrdp_start "$(xrdp_conf snap128 security_layer=negotiate)"
    snaplen_run 61-snaplen-128 128 5 /sec:tls /cert:ignore /size:800x600
}

sc_62_snaplen_96_nla() {
    shadow_start /sec:nla
    snaplen_run 62-snaplen-96-nla 96 6 /sec:nla /u:lab /p:labpass /cert:ignore /size:800x600
}

sc_63_two_interfaces_long() {
    # dumpcap on both router interfaces for a 25 s session with pointer
    # input all along: every packet twice (rc, rs), ACKs and data alike
    xrdp_start "$(xrdp_conf twoiflong security_layer=negotiate)"
    local out=63-two-interfaces-long
    local f="$OUT/$out.pcapng"
    rm -f "$f"
    ip netns exec "$NS_R" dumpcap -q -i rc -i rs -f "$CAP_FILTER" -w "$f" >"$WORK/dumpcap.log" 2>&1 &
    local cap=$!
    sleep 2
    run_client_bg "$out" 25 /sec:tls /cert:ignore /size:800x600
    wait_established
    sleep 2
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 100)
    wait "$CLIENT_BG"
    sleep 1
    kill -INT "$cap"
    wait "$cap"
    chmod 0644 "$f"
    save_client_log "$out" "$out"
}

sc_64_router_any() {
    # tcpdump -i any on the router: each forwarded packet seen on rc and on
    # rs (LINUX_SLL2 carries the interface index)
    xrdp_start "$(xrdp_conf rany security_layer=negotiate)"
    local out=64-router-any
    cap_start "$OUT/$out.pcap" "$NS_R" -i any
    run_client "$out" 5 /sec:tls /cert:ignore /size:800x600
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_65_ipv6() {
    # the same topology with IPv6 documentation addresses; xrdp listens on
    # :: (dual stack), xfreerdp connects to 2001:db8:5::20
    topo_v6
    xrdp_start "$(xrdp_conf v6 security_layer=negotiate)"
    local out=65-ipv6
    local CAP_FILTER="tcp port $RDP_PORT or icmp or icmp6"
    cap_start "$OUT/$out.pcap"
    # FreeRDP 2.11 took port 1 from /v:[2001:db8:5::20]:3389 (its log:
    # 'hostname 2001:db8:5::20 port 1'): the port is given apart
    CLIENT_TARGET="[$S_IP6]" run_client "$out" 5 /sec:tls /cert:ignore /size:800x600 "/port:$RDP_PORT"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}

sc_66_port_3390() {
    # xrdp on port 3390
    local RDP_PORT=3390
    local CAP_FILTER="tcp port $RDP_PORT or icmp"
    xrdp_start "$(xrdp_conf p3390 security_layer=negotiate port=3390)"
    capture_run 66-port-3390 5 /sec:tls /cert:ignore /size:800x600
}

# ------------------------------------------------------------ FreeRDP's server
sc_67_shadow_tls() {
    # freerdp-shadow-cli with TLS only (no NLA) and its own authentication
    # switched off (-auth), xfreerdp /sec:tls: TLS 1.3, the shadowed screen
    shadow_start /sec:tls -auth
    capture_run 67-shadow-tls 5 /sec:tls /cert:ignore /size:800x600
}

sc_68_shadow_tls_pam_denied() {
    # freerdp-shadow-cli /sec:tls with its default authentication: it checks
    # the Client Info's user and password with PAM after the connection
    # sequence; the client sends none, PAM fails (after its 2-3 s delay) and
    # the server closes
    shadow_start /sec:tls
    capture_run 68-shadow-tls-pam-denied 8 /sec:tls /cert:ignore /size:800x600
    grep -a 'ERROR' "$WORK/shadow/shadow.log" | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] //' | head -n 3 \
        >"$OUT/client-logs/68-shadow-tls-pam-denied-server.txt"
}

sc_69_shadow_killed() {
    # freerdp-shadow-cli killed (SIGKILL) 4 s into an NLA session while the
    # client sends pointer input
    shadow_start /sec:nla
    local out=69-shadow-killed
    cap_start "$OUT/$out.pcap"
    run_client_bg "$out" 20 /sec:nla /u:lab /p:labpass /cert:ignore /size:800x600
    wait_established
    sleep 2
    # shellcheck disable=SC2046
    in_c env DISPLAY=":$C_DISPLAY" "$PY3" "$HERE/x-pointer.py" $(pointer_path 25) &
    local ptr=$!
    sleep 2
    local p
    for p in $(ip netns pids "$NS_S"); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = freerdp-shadow- ] && kill -KILL "$p"
    done
    wait "$ptr"
    wait "$CLIENT_BG"
    cap_stop "$OUT/$out.pcap"
    save_client_log "$out" "$out"
}
