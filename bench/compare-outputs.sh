#!/usr/bin/env bash
# Compare the output of two rdptriage builds, byte for byte, on every
# capture under testdata/ and every corpus capture under 30 MB (its
# MANIFEST.tsv): JSON Lines, JSON, the table (to a pipe: 100 columns, and
# with COLUMNS 40 and 250) and Markdown, with 1 and 2 threads; each file
# alone (JSON Lines and the table) and all files in one run.
#
#   bench/compare-outputs.sh OLD_BINARY NEW_BINARY [CORPUS_DIR]
#
# Prints every difference (standard output and exit code) and the number
# of runs compared; exits 1 when any run differs.
set -u
old=$1
new=$2
corpus=${3:-../shared/corpus}
cd "$(dirname "$0")/.." || exit 2

files=()
while IFS= read -r f; do files+=("$f"); done < <(
    find testdata -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \
        -o -name '*.pcap.gz' -o -name '*.pcap.zst' -o -name '*.etl' \) | sort
    if [ -f "$corpus/MANIFEST.tsv" ]; then
        awk -F'\t' -v dir="$corpus" 'NR > 1 && $6 < 30000000 { print dir "/" $1 }' \
            "$corpus/MANIFEST.tsv" | sort
    fi
)

runs=0
diffs=0
compare() { # what, then the arguments
    local what=$1
    shift
    local a b
    a=$("$old" "$@" 2>/dev/null; echo "exit $?")
    b=$("$new" "$@" 2>/dev/null; echo "exit $?")
    runs=$((runs + 1))
    if [ "$a" != "$b" ]; then
        diffs=$((diffs + 1))
        echo "DIFFERS ($what): $*"
        diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -8
    fi
}

for threads in 1 2; do
    for format in jsonl json table markdown; do
        compare "all files" --threads "$threads" --format "$format" "${files[@]}"
    done
    for cols in 40 250; do
        COLUMNS=$cols compare "all files, COLUMNS=$cols" --threads "$threads" "${files[@]}"
    done
done
for f in "${files[@]}"; do
    for format in jsonl table; do
        compare "one file" --threads 1 --format "$format" "$f"
    done
done
echo "${#files[@]} files, $runs runs compared, $diffs differ"
[ "$diffs" -eq 0 ]
