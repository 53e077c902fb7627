//! Print every event of every analysed connection of a capture, one per
//! line: the developer's view of what the decoders and the flow stage saw.
//!
//! cargo run --example dump_timeline -- FILE [STREAM]

use rdptriage::analyze::{analyze_path, Options};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dump_timeline FILE [STREAM]");
        std::process::exit(2);
    };
    let only: Option<u64> = args.next().and_then(|s| s.parse().ok());
    let r = analyze_path(&path, &Options::default());
    if let Err(e) = &r.read {
        eprintln!("{path}: {e}");
    }
    for c in &r.connections {
        let tl = &c.timeline;
        if only.is_some_and(|s| s != tl.stream) {
            continue;
        }
        println!(
            "== stream {} {} -> {} ({:?})",
            tl.stream, tl.endpoints.client, tl.endpoints.server, tl.roles
        );
        for e in &tl.events {
            let t = e.ts.since(tl.first_ts);
            println!(
                "{:>6} {:>10.6} {:<6} {:?}",
                e.frame,
                t.as_secs_f64(),
                e.dir.sender(),
                e.kind
            );
        }
        println!("-> {:?}\n", c.diagnosis);
    }
}
