#!/usr/bin/env bash
# Peak RSS and CPU time of one rdptriage build on the many-connections
# captures, in JSON Lines, JSON and the table written to a pipe: one run
# each under GNU time, as BENCHMARKS.md "Many connections" reports them.
#
#   bench/many-rss.sh BINARY DIR
#
# DIR holds refused-1m.pcap and confirm-1m.pcap, made by
#   cargo run --release --example make_many_conns -- --out DIR/refused-1m.pcap --count 1000000 --kind refused
#   cargo run --release --example make_many_conns -- --out DIR/confirm-1m.pcap --count 1000000 --kind confirm
# Prints one Markdown table row per run: input, format, peak RSS (MiB),
# user CPU (s), wall time (s), exit code.
set -u
bin=$1
dir=$2
for input in refused-1m.pcap confirm-1m.pcap; do
    for format in jsonl json table; do
        t=$(mktemp)
        if [ "$format" = table ]; then
            /usr/bin/time -o "$t" -f '%M %U %e %x' "$bin" "$dir/$input" | cat > /dev/null
        else
            /usr/bin/time -o "$t" -f '%M %U %e %x' "$bin" --format "$format" "$dir/$input" > /dev/null
        fi
        read -r kb user wall code < <(tail -n 1 "$t")
        rm -f "$t"
        printf '| %s | %s | %.1f | %s | %s | %s |\n' "$input" "$format" \
            "$(echo "$kb / 1024" | bc -l)" "$user" "$wall" "$code"
    done
done
