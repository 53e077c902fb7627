//! Thin command-line front end: parse arguments, call the library, print.
fn main() {
    std::process::exit(2);
}
