#!/usr/bin/env bash
# Check rdptriage's decoding of the plaintext inside TLS (CredSSP, NTLM and
# the RDP connection sequence) against tshark's, on the public Windows
# captures whose server RSA keys the corpus holds and on the lab's RDP
# sessions with their key logs (testdata/decrypt/rdp-*).
#
# For each (capture, key) below, tshark decrypts with the key and dissects
# every connection; scripts/inner-decoding-from-tshark.py turns its JSON
# into one row per connection and direction: the selected protocol, the
# NTLM user and domain, and the sequence of CredSSP/NTLM messages and RDP
# PDUs (the vocabulary is in the script). The file starts with comment
# lines saying which tshark wrote it and how.
#
# It writes testdata/expected/inner-tshark.tsv, then runs
# tests/inner_vs_tshark.rs, which feeds tshark's decrypted plaintext
# (`-z follow,tls,raw`) to proto::decode_inner and compares.
#
# Usage: scripts/compare-inner-decoding.sh [CORPUS_DIR]   (default ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
command -v tshark >/dev/null || { echo "tshark not found" >&2; exit 2; }
[ -d "$corpus" ] || { echo "$corpus not found" >&2; exit 2; }
out=testdata/expected/inner-tshark.tsv
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# capture (relative to the corpus), its server key (relative to the corpus)
pairs="zeek/nla_win7_win2k8r2.pcap keys/nla_win7_win2k8r2.W2K8R2.key
wireshark-wiki/rdp-ssl.pcap.gz keys/rdp-ssl.key"

# The lab's RDP sessions with their key logs (testdata/lab/make-rdp-keylog-captures.sh);
# key `-`: the pcapng's own Decryption Secrets Block.
lab="testdata/decrypt/rdp-tls13.pcap testdata/decrypt/rdp-tls13.keys
testdata/decrypt/rdp-tls12.pcap testdata/decrypt/rdp-tls12.keys
testdata/decrypt/rdp-tls10-etm.pcap testdata/decrypt/rdp-tls10-etm.keys
testdata/decrypt/rdp-nla-ok.pcap testdata/decrypt/rdp-nla-ok.keys
testdata/decrypt/rdp-nla-ok-dsb.pcapng -
testdata/decrypt/rdp-nla-wrong-password.pcap testdata/decrypt/rdp-nla-wrong-password.keys
testdata/decrypt/rdp-nla-two-missing-line.pcap testdata/decrypt/rdp-nla-two-missing-line.keys"

{
    echo "# Written by scripts/compare-inner-decoding.sh from $(tshark -v | head -1)"
    echo "# tshark -r CAPTURE -o tls.keys_list:0.0.0.0,3389,tpkt,KEY -d tcp.port==3389,tls -T json"
    echo "# (lab rows: -o tls.keylog_file:KEY, or the pcapng's own secrets when KEY is -)"
    echo "# (selected: tshark -r CAPTURE -e rdp.negReq.selectedProtocol, without keys); never edited by hand"
    printf 'capture\tkey\tstream\tdir\tselected\tntlm_user\tntlm_domain\tntlm_workstation\tntlm_versions\tclient_info\tfast_path_pdus\tsequence\n'
    echo "$pairs" | while read -r cap key; do
        python3 scripts/inner-decoding-from-tshark.py "$corpus/$cap" "corpus/$cap" "$corpus/$key" "$key" || exit 1
    done
    echo "$lab" | while read -r cap key; do
        python3 scripts/inner-decoding-from-tshark.py "$cap" "$cap" "$key" "$key" || exit 1
    done
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out: $(grep -vc '^#' "$out") lines" >&2

[ -n "${NO_TEST:-}" ] || cargo test -q --test inner_vs_tshark -- --nocapture
