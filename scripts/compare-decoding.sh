#!/usr/bin/env bash
# Check rdptriage's decoding of each RDP connection's set-up against tshark.
#
# For every capture of testdata/captures/ and every corpus file whose
# MANIFEST.tsv entry carries TCP RDP connections, for every connection
# rdptriage reports (tcp.stream and server port, from the `print_streams`
# test of tests/decode_vs_tshark.rs), tshark dissects: the cookie, requested
# protocols, selected protocol or failure code, the ClientHello's highest
# version, the ServerHello's version and cipher suite, the leaf certificate's
# CN and validity, and the GCC client core data (client name, build,
# keyboard layout, desktop size), the leaf certificate's version, key
# algorithm, exponent and basic constraints, the ServerHello's ALPN and the
# TLS history (Zeek's ssl_history letters) -- see scripts/decoding-from-tshark.py for
# the decode-as options and how values are normalised.
#
# It writes testdata/expected/decoding-tshark.tsv, then runs the test that
# compares it with the library, field by field.
#
# Usage: scripts/compare-decoding.sh [CORPUS_DIR]   (default ../shared/corpus)
set -eu
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
command -v tshark >/dev/null || { echo "tshark not found" >&2; exit 2; }
export RDPTRIAGE_CORPUS
RDPTRIAGE_CORPUS="$(cd "$corpus" 2>/dev/null && pwd || echo "$corpus")"
[ -d "$corpus" ] || echo "$corpus not found: corpus rows not regenerated" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=testdata/expected/decoding-tshark.tsv

cargo test -q --test decode_vs_tshark print_streams -- --ignored --nocapture >"$tmp/streams.txt"
grep -E '^STREAM	' "$tmp/streams.txt" | cut -f2- >"$tmp/streams.tsv" || true

{
    printf 'capture\tstream\tcookie\trequested\tselected\tfailure\tch_max_version\tsh_version\tsh_cipher\tcert_cn\tcert_not_before\tcert_not_after\tclient_name\tclient_build\tkeyboard_layout\tdesktop_width\tdesktop_height\tcert_version\tcert_key_alg\tcert_exponent\tcert_ca\tcert_path_len\talpn\ttls_history\n'
    cut -f1 "$tmp/streams.tsv" | uniq | while read -r label; do
        case $label in
            corpus/*) file=$RDPTRIAGE_CORPUS/${label#corpus/} ;;
            *) file=$label ;;
        esac
        # shellcheck disable=SC2046
        python3 scripts/decoding-from-tshark.py "$file" "$label" \
            $(awk -F'\t' -v l="$label" '$1 == l { print $2 ":" $3 }' "$tmp/streams.tsv")
    done
    # Without the corpus, keep its rows from the committed file.
    if [ ! -d "$corpus" ] && [ -f "$out" ]; then grep -E '^corpus/' "$out" || true; fi
} >"$tmp/new.tsv"
mv "$tmp/new.tsv" "$out"
echo "wrote $out: $(($(wc -l <"$out") - 1)) rows" >&2

cargo test -q --test decode_vs_tshark decoding_agrees_with_tshark -- --nocapture
