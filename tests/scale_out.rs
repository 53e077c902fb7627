//! docs/scale-out.md is checked from the document itself: its Kubernetes
//! manifests parse as YAML and are Indexed Jobs whose `--shard auto/N`
//! matches their completions, its Slurm scripts pass `bash -n`, and its
//! GNU parallel recipe runs with 3 parts over the lab captures and merges
//! into what one run prints (when `parallel` is installed; without it the
//! test says it is skipped, and fails under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

#[allow(dead_code)]
mod run_cli;
use run_cli::run;

const DOC: &str = include_str!("../docs/scale-out.md");

/// The fenced block whose info string ends with `name`.
fn block(name: &str) -> String {
    let mut lines = DOC.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("```") && l.split_whitespace().nth(1) == Some(name) {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            return body.join("\n") + "\n";
        }
    }
    panic!("no block {name} in docs/scale-out.md");
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scale-out-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn kubernetes_manifests_are_jobs_that_parse() {
    let job = &YamlLoader::load_from_str(&block("k8s-indexed-job")).expect("YAML")[0];
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().expect("completions");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let c = &pod["containers"][0];
    let args: Vec<&str> = match &c["args"] {
        Yaml::Array(a) => a.iter().filter_map(Yaml::as_str).collect(),
        other => panic!("args: {other:?}"),
    };
    let line = args.join(" ");
    assert!(line.contains(&format!("--shard auto/{n} ")), "{line}");
    assert!(line.contains("--format jsonl"), "{line}");
    assert!(line.contains("${JOB_COMPLETION_INDEX}"), "{line}");
    // Every volume mounted is declared.
    let declared: Vec<&str> = match &pod["volumes"] {
        Yaml::Array(v) => v.iter().filter_map(|v| v["name"].as_str()).collect(),
        other => panic!("volumes: {other:?}"),
    };
    if let Yaml::Array(m) = &c["volumeMounts"] {
        for v in m {
            assert!(declared.contains(&v["name"].as_str().unwrap()), "{v:?}");
        }
    }
    let report = &YamlLoader::load_from_str(&block("k8s-report-job")).expect("YAML")[0];
    assert_eq!(report["kind"].as_str(), Some("Job"));
    let args = &report["spec"]["template"]["spec"]["containers"][0]["args"][0];
    assert!(
        args.as_str().unwrap().starts_with("rdptriage report "),
        "{args:?}"
    );
}

#[test]
fn slurm_scripts_pass_bash_n() {
    let dir = scratch("slurm");
    for name in ["slurm-array", "slurm-report"] {
        let text = block(name);
        assert!(text.starts_with("#!/bin/bash\n#SBATCH"), "{name}");
        let p = dir.join(format!("{name}.sh"));
        std::fs::write(&p, &text).unwrap();
        let o = Command::new("bash").arg("-n").arg(&p).output().unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let array = block("slurm-array");
    assert!(array.contains("#SBATCH --array="), "{array}");
    assert!(array.contains("rdptriage --shard auto "), "{array}");
    assert!(block("slurm-report").contains("rdptriage report "));
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_gnu_parallel_recipe_runs_and_merges_into_one_run() {
    if !have("parallel") {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "GNU parallel is not installed (CI=true): .ci/run installs it"
        );
        eprintln!(
            "SKIPPED: GNU parallel is not installed: the recipe of docs/scale-out.md was not run"
        );
        return;
    }
    let dir = scratch("parallel");
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/captures");
    let archive = archive.to_str().unwrap();
    let out = dir.join("out");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rdptriage")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(block("gnu-parallel"))
        .env("PATH", path)
        .env("ARCHIVE", archive)
        .env("OUT", &out)
        .env("N", "3")
        .env("FORMAT", "html")
        .env("HOME", &dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // The report's exit code is the run's: 1, connections failed.
    assert_eq!(o.status.code(), Some(1), "{err}");
    let parts: Vec<_> = (1..=3)
        .map(|k| out.join(format!("part-{k}.jsonl")))
        .collect();
    assert!(parts.iter().all(|p| p.exists()), "{err}");
    let single = run(&["--format", "html", archive]);
    let merged = std::fs::read(out.join("archive.html")).unwrap();
    assert!(
        single.stdout == merged,
        "the recipe's report differs from one run"
    );
    // The same parts give every other format as one run does.
    for format in ["table", "json", "jsonl", "csv", "markdown", "summary"] {
        let single = run(&["--format", format, archive]);
        let mut args = vec!["report", "--format", format];
        let names: Vec<String> = parts.iter().map(|p| p.display().to_string()).collect();
        args.extend(names.iter().map(String::as_str));
        let merged = run(&args);
        assert!(single.stdout == merged.stdout, "{format}");
    }
}
