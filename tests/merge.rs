//! `rdptriage report`: the lab captures split with `--shard 1/3`, `2/3`
//! and `3/3` into three JSON Lines files, merged in any order, print in
//! every format byte for byte what one run over the same files prints
//! (the oracle: that single run), with and without `--redact` and under
//! filters; lines that are not rdptriage JSON Lines are named and the
//! rest is still read.

use std::path::{Path, PathBuf};
use std::process::Output;

#[allow(dead_code)]
mod run_cli;
use run_cli::{code, run, run_stdin, stderr};

const FORMATS: [&str; 7] = [
    "table", "json", "jsonl", "csv", "markdown", "html", "summary",
];

/// Every capture the lab made (captures, neighbours, decryption), and
/// the files beside them that are not captures (skipped).
fn testdata() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .to_string_lossy()
        .into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("merge-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The three shards' JSON Lines, written to files.
fn shards(dir: &Path) -> Vec<String> {
    (1..=3)
        .map(|k| {
            let o = run(&[
                "--shard",
                &format!("{k}/3"),
                "--format",
                "jsonl",
                &testdata(),
            ]);
            assert!(code(&o) <= 1, "{}", stderr(&o));
            assert!(!o.stdout.is_empty(), "shard {k} holds files");
            let p = dir.join(format!("part-{k}.jsonl"));
            std::fs::write(&p, &o.stdout).unwrap();
            p.to_string_lossy().into_owned()
        })
        .collect()
}

fn same(single: &Output, merged: &Output, what: &str) {
    assert_eq!(
        code(single),
        code(merged),
        "{what}: exit codes\n{}",
        stderr(merged)
    );
    assert!(
        single.stdout == merged.stdout,
        "{what}: the merge differs from one run\n--- one run:\n{}\n--- merged:\n{}",
        String::from_utf8_lossy(&single.stdout),
        String::from_utf8_lossy(&merged.stdout)
    );
}

#[test]
fn a_merge_of_shards_prints_what_one_run_prints() {
    let dir = scratch("formats");
    let parts = shards(&dir);
    // Shards in any order.
    let order = [&parts[2], &parts[0], &parts[1]];
    let data = testdata();
    for extra in [
        &[][..],
        &["--redact"],
        &["--only", "failed,incomplete", "--client", "192.0.2.0/24"],
    ] {
        for format in FORMATS {
            let mut one: Vec<&str> = extra.to_vec();
            one.extend(["--format", format, &data]);
            let single = run(&one);
            let mut merge: Vec<&str> = vec!["report"];
            merge.extend(extra.iter().copied());
            merge.extend(["--format", format]);
            merge.extend(order.iter().map(|s| s.as_str()));
            let merged = run(&merge);
            same(&single, &merged, &format!("{format} {extra:?}"));
        }
    }
}

#[test]
fn report_reads_standard_input_and_one_run() {
    let dir = scratch("stdin");
    let parts = shards(&dir);
    let all: Vec<u8> = parts
        .iter()
        .rev()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    let single = run(&["--format", "markdown", &testdata()]);
    let merged = run_stdin(&["report", "--format", "markdown", "-"], &all);
    same(&single, &merged, "standard input");
}

#[test]
fn lines_that_are_not_rdptriage_json_lines_are_named_and_the_rest_is_read() {
    let dir = scratch("bad");
    let parts = shards(&dir);
    let text = std::fs::read_to_string(&parts[0]).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // After the first file's records (its `file` record closes it).
    let at = lines
        .iter()
        .position(|l| l.starts_with("{\"record\":\"file\""))
        .unwrap()
        + 1;
    lines.insert(at, "{\"hello\": \"world\"}");
    lines.insert(at, "this is not JSON");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let bad = bad.to_string_lossy().into_owned();
    let o = run(&["report", "--format", "json", &bad, &parts[1], &parts[2]]);
    assert_eq!(code(&o), 2, "a bad line makes the exit code 2");
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "rdptriage: {bad}: line {}: not rdptriage JSON Lines: not JSON",
            at + 1
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "rdptriage: {bad}: line {}: not rdptriage JSON Lines: no `record` field",
            at + 2
        )),
        "{err}"
    );
    // The rest is the whole run.
    let single: serde_json::Value =
        serde_json::from_slice(&run(&["--format", "json", &testdata()]).stdout).unwrap();
    let merged: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(single, merged);
    // A shard cut short: its last file is named and left out.
    let cut = dir.join("cut.jsonl");
    let whole = std::fs::read_to_string(&parts[1]).unwrap();
    let keep: Vec<&str> = whole.lines().collect();
    // Cut right after a connection record: its file's `file` record is lost.
    let last = keep
        .iter()
        .rposition(|l| l.starts_with("{\"record\":\"connection\""))
        .unwrap();
    std::fs::write(&cut, keep[..=last].join("\n") + "\n").unwrap();
    let o = run(&["report", "--format", "summary", &cut.to_string_lossy()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("stop before its `file` record"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn redacted_json_lines_are_refused() {
    let dir = scratch("redacted");
    let o = run(&[
        "--redact",
        "--shard",
        "1/3",
        "--format",
        "jsonl",
        &testdata(),
    ]);
    let p = dir.join("redacted.jsonl");
    std::fs::write(&p, &o.stdout).unwrap();
    let o = run(&["report", &p.to_string_lossy()]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("was written with --redact"),
        "{}",
        stderr(&o)
    );
    let o = run(&["report", "--shard", "1/2", &p.to_string_lossy()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--shard belongs to an analysis"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "report",
        "--gateway",
        "gw.example.test",
        &p.to_string_lossy(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--gateway belongs to an analysis"),
        "{}",
        stderr(&o)
    );
}

/// A file read part-way has its `error` record after its connections
/// (written as they came, before the damage was met); JSON Lines of
/// earlier versions put it before them, with `connections` counting
/// those that follow. `report` reads both and prints, in every format,
/// what one run over the same files prints.
#[test]
fn report_reads_the_error_record_of_a_file_read_part_way_in_either_order() {
    let dir = scratch("error-order");
    // A lab capture with two connections, cut inside its last record.
    let whole = std::fs::read(Path::new(&testdata()).join("captures/06-port-closed.pcap")).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    let other = Path::new(&testdata()).join("captures/01-success-tls.pcap");
    let (cut, other) = (cut.to_str().unwrap(), other.to_str().unwrap());
    let jsonl = run(&["--format", "jsonl", cut, other]);
    assert_eq!(code(&jsonl), 2, "{}", stderr(&jsonl));
    let lines: Vec<&str> = std::str::from_utf8(&jsonl.stdout)
        .unwrap()
        .lines()
        .collect();
    let kind = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        (v["record"].as_str().unwrap().to_string(), v["file"] == cut)
    };
    let error = lines.iter().position(|l| kind(l).0 == "error").unwrap();
    let cut_connections: Vec<usize> = (0..lines.len())
        .filter(|&i| kind(lines[i]) == ("connection".to_string(), true))
        .collect();
    assert!(!cut_connections.is_empty(), "connections before the damage");
    assert!(
        cut_connections.iter().all(|&i| i < error),
        "the error follows them"
    );
    let e: serde_json::Value = serde_json::from_str(lines[error]).unwrap();
    assert_eq!(e["partial"], true);
    assert_eq!(e["connections"], cut_connections.len());

    // The order of earlier versions: the error first.
    let mut earlier: Vec<&str> = lines.clone();
    let e = earlier.remove(error);
    earlier.insert(cut_connections[0], e);
    assert_ne!(earlier, lines);
    let now = dir.join("now.jsonl");
    let before = dir.join("before.jsonl");
    std::fs::write(&now, lines.join("\n") + "\n").unwrap();
    std::fs::write(&before, earlier.join("\n") + "\n").unwrap();
    for format in FORMATS {
        let single = run(&["--format", format, cut, other]);
        for (what, p) in [("this order", &now), ("the earlier order", &before)] {
            let merged = run(&["report", "--format", format, p.to_str().unwrap()]);
            same(&single, &merged, &format!("{format}, {what}"));
        }
    }
}
