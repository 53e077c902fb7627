//! Running the built `rdptriage` binary as a user does, for the command-line
//! integration tests (tests/cli.rs, tests/batch.rs).

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The binary, with NO_COLOR removed so the tests see the tool's own choice.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rdptriage"));
    c.env_remove("NO_COLOR");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run rdptriage")
}

/// Run with `input` on standard input.
pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdptriage");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        // The tool may refuse its arguments or stop reading early: a broken
        // pipe is fine.
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("wait")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
