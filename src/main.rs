//! Thin command-line front end: parse arguments, call the library, exit
//! with its code.
fn main() {
    std::process::exit(rdptriage::cli::main_from_env());
}
