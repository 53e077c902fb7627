//! The HTML report in a real browser: headless Chromium (Debian's
//! `chromium`; `.ci/run` installs it) loads the pages of lab captures and
//! of a 200-file batch, with scripts on and off. No console message, no
//! network request from the page, and the DOM says what the JSON says:
//! every connection has a section, the failing step's arrow carries the
//! failure class, the evidence frames highlighted in the ladder and listed
//! beside it are the JSON's evidence frames.
//!
//! Skipped, saying so, when chromium is not installed (set
//! `RDPTRIAGE_CHROMIUM` to use another binary).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rdptriage");
const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/captures");

fn chromium() -> Option<String> {
    let candidates = [
        std::env::var("RDPTRIAGE_CHROMIUM").unwrap_or_default(),
        "chromium".to_string(),
        "chromium-browser".to_string(),
    ];
    candidates.into_iter().filter(|c| !c.is_empty()).find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "rdptriage-html-browser-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The HTML page (via `-o`) and the JSON document for the same inputs.
fn reports(dir: &Path, name: &str, inputs: &[PathBuf]) -> (PathBuf, Value) {
    let page = dir.join(format!("{name}.html"));
    let st = Command::new(BIN)
        .args(["--format", "html", "-o"])
        .arg(&page)
        .args(inputs)
        .status()
        .unwrap();
    assert!(st.code().unwrap_or(9) <= 1, "{name}: {st:?}");
    let out = Command::new(BIN)
        .args(["--format", "json"])
        .args(inputs)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    (page, json)
}

/// Flags that keep the browser itself quiet on the network, so the net
/// log shows what the page asks for.
const QUIET: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--hide-scrollbars",
];

struct Loaded {
    dom: String,
    console: Vec<String>,
    requests: Vec<String>,
}

/// Load a page, dump its DOM after the scripts ran, and collect console
/// messages and the page's own network requests.
fn load(browser: &str, url: &str, scripts: bool, dir: &Path) -> Loaded {
    let net = dir.join(format!("net-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&net);
    // Scripts off the way a user turns them off: the profile's content
    // setting (the `--blink-settings` switch stops headless mode working).
    let profile = dir.join(if scripts {
        "profile"
    } else {
        "profile-noscript"
    });
    if !scripts {
        std::fs::create_dir_all(profile.join("Default")).unwrap();
        std::fs::write(
            profile.join("Default/Preferences"),
            r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
        )
        .unwrap();
    }
    let mut cmd = Command::new(browser);
    cmd.args(QUIET)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--enable-logging=stderr")
        .arg("--v=0")
        .arg(format!("--log-net-log={}", net.display()))
        .arg("--dump-dom");
    let out = cmd.arg(url).output().unwrap();
    assert!(out.status.success(), "chromium failed on {url}: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.stdout.is_empty(),
        "chromium printed no DOM for {url}: {stderr}"
    );
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    // Requests the page made: initiated by the file's (opaque) origin.
    // The browser's own background requests have no such initiator.
    let mut requests = Vec::new();
    if let Ok(text) = std::fs::read_to_string(&net) {
        // A net log cut short ends without its closing brackets.
        let v: Value = serde_json::from_str(&text)
            .or_else(|_| {
                serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(',')))
            })
            .unwrap_or(Value::Null);
        for e in v["events"].as_array().into_iter().flatten() {
            let p = &e["params"];
            let (Some(u), init) = (p["url"].as_str(), p["initiator"].as_str()) else {
                continue;
            };
            let site = p["site_for_cookies"].as_str().unwrap_or("");
            if !u.starts_with("file:") && (init == Some("null") || site.contains("site=file://")) {
                requests.push(u.to_string());
            }
        }
    }
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests,
    }
}

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// The HTML of one connection's section.
fn section<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let end = dom[start..]
        .find("</details>\n<details class=\"conn")
        .or_else(|| dom[start..].find("</main>"))
        .map(|e| start + e)
        .unwrap_or(dom.len());
    Some(&dom[start..end])
}

/// Values of attribute `attr` in `html`.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!("{attr}=\"");
    html.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest.find('"').map(|e| &rest[..e])
        })
        .collect()
}

/// The opening tags of the diagram's rows.
fn row_tags(sec: &str) -> impl Iterator<Item = &str> {
    sec.match_indices("<g class=\"row ")
        .map(move |(i, _)| &sec[i..i + sec[i..].find('>').unwrap_or(0)])
}

/// Check one page against its JSON; returns the number of sections checked.
fn check_dom(dom: &str, json: &Value, name: &str) -> usize {
    let mut n = 0;
    for (fi, f) in json["files"].as_array().unwrap().iter().enumerate() {
        for c in f["connections"].as_array().unwrap() {
            let stream = c["stream"].as_u64().unwrap();
            let id = format!("c{fi}-{stream}");
            let sec = section(dom, &id).unwrap_or_else(|| {
                panic!(
                    "{name}: no section for {} stream {stream} in {} bytes: {}",
                    f["path"],
                    dom.len(),
                    &dom[..dom.len().min(300)]
                )
            });
            n += 1;
            // The evidence frames: highlighted in the ladder, and listed.
            let want: BTreeSet<u64> = c["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["frame"].as_u64().unwrap())
                .collect();
            let drawn: BTreeSet<u64> = attrs(sec, "data-evidence")
                .iter()
                .flat_map(|v| v.split(' '))
                .map(|x| x.parse().unwrap())
                .collect();
            assert_eq!(drawn, want, "{name} {id}: evidence frames drawn");
            let svg_start = sec.find("<svg").unwrap();
            let listed: BTreeSet<u64> = attrs(&sec[..svg_start], "data-frame")
                .iter()
                .map(|x| x.parse().unwrap())
                .collect();
            assert_eq!(listed, want, "{name} {id}: evidence frames listed");
            // The failing step's arrow has the failure class.
            if let Some(step) = c["failed_step"].as_str() {
                let arrow = row_tags(sec)
                    .find(|g| g.contains(&format!("data-step=\"{step}\"")) && g.contains(" failed"))
                    .unwrap_or_else(|| panic!("{name} {id}: no failed arrow for {step}"));
                assert!(arrow.contains("arrow"), "{arrow}");
            }
            // Every step reached is drawn, solid or dashed as the JSON says.
            for st in c["steps"].as_array().unwrap() {
                let step = st["step"].as_str().unwrap();
                let cert = st["certainty"].as_str().unwrap();
                let g = row_tags(sec)
                    .find(|g| g.contains(&format!("data-step=\"{step}\"")))
                    .unwrap_or_else(|| panic!("{name} {id}: step {step} not drawn"));
                assert!(
                    g.contains(&format!(" {cert}")),
                    "{name} {id}: {g} not {cert}"
                );
            }
        }
    }
    n
}

#[test]
fn pages_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: chromium is not installed (apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    let dir = scratch("pages");
    let singles = [
        "01-success-tls.pcap",
        "09-ssl-required-by-server.pcap",
        "18-middlebox-reset-tls.pcap",
        "13-cert-expired.pcap",
        "07-firewall-drop.pcap",
        "08-icmp-admin-prohibited.pcap",
    ];
    let mut pages: Vec<(String, PathBuf, Value)> = Vec::new();
    for s in singles {
        let (page, json) = reports(&dir, s, &[Path::new(CAPTURES).join(s)]);
        pages.push((s.to_string(), page, json));
    }
    // A batch of 200 files: lab captures under many names.
    let batch = dir.join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    let pool: Vec<PathBuf> = std::fs::read_dir(CAPTURES)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    let mut pool = pool;
    pool.sort();
    for i in 0..200 {
        let src = &pool[i % pool.len()];
        std::fs::copy(src, batch.join(format!("{i:03}.pcap"))).unwrap();
    }
    let (page, json) = reports(&dir, "batch", std::slice::from_ref(&batch));
    pages.push(("batch".to_string(), page, json));

    for (name, page, json) in &pages {
        for scripts in [true, false] {
            let l = load(&browser, &url(page), scripts, &dir);
            assert!(l.console.is_empty(), "{name}: console: {:#?}", l.console);
            assert!(l.requests.is_empty(), "{name}: requests: {:?}", l.requests);
            let n = check_dom(&l.dom, json, name);
            assert!(n >= 1, "{name}: no connection checked");
            // Each Wireshark filter shown gets a copy button, made by the
            // script: none with scripts off (a button would do nothing).
            if name != "batch" {
                let filters = l.dom.matches("<code class=\"flt\">").count();
                let buttons = l.dom.matches("class=\"copy\"").count();
                assert!(filters >= 2, "{name}: {filters} filters");
                assert_eq!(buttons, if scripts { filters } else { 0 }, "{name}");
            }
            let html_tag = &l.dom[l.dom.find("<html").unwrap()..];
            let html_tag = &html_tag[..html_tag.find('>').unwrap()];
            assert_eq!(
                html_tag.contains("class=\"js\""),
                scripts,
                "{name}: {html_tag}"
            );
            if name == "batch" {
                // The contents list each connection once, however many
                // parts they are cut in.
                let rows = l.dom.matches("<tr data-target=").count();
                assert_eq!(rows, n, "{name}: rows of the contents");
                assert!(l.dom.contains("class=\"tocpart\""), "{name}: one part only");
                let form = &l.dom[l.dom.find("<form id=\"filters\"").unwrap()..];
                let form = &form[..form.find('>').unwrap()];
                // The filter box shows only when scripts run.
                assert_eq!(form.contains("hidden"), !scripts, "{form}");
            }
        }
        // The page itself holds no reference to anything outside it (a
        // source cited as text, such as a remedy's article, is no
        // reference: only attributes and styles can load anything).
        let html = std::fs::read_to_string(page).unwrap();
        for bad in [
            "src=",
            "=\"http://",
            "=\"https://",
            "='http",
            "url(",
            "@import",
        ] {
            assert!(!html.contains(bad), "{name}: page contains {bad}");
        }
    }

    // The filter box: `?outcome=failed` leaves the failed connections only.
    let (_, page, json) = pages.last().unwrap();
    // The chart of causes counts every failure, the causes past its last
    // bar summed in one.
    let html = std::fs::read_to_string(page).unwrap();
    let chart = &html[html.find("aria-label=\"Failures by cause\"").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    let bars: Vec<u64> = chart
        .split("<g class=\"bar ")
        .skip(1)
        .map(|g| {
            let t = &g[g.find("<title>").unwrap() + 7..g.find("</title>").unwrap()];
            t.rsplit(": ").next().unwrap().parse().unwrap()
        })
        .collect();
    let causes = json["totals"]["failures_by_cause"].as_array().unwrap();
    assert!(
        causes.len() > 10,
        "{} causes: the batch shows too few",
        causes.len()
    );
    assert_eq!(bars.len(), 10);
    assert_eq!(
        bars.iter().sum::<u64>(),
        json["totals"]["outcomes"]["failed"].as_u64().unwrap()
    );
    let failed = json["totals"]["outcomes"]["failed"].as_u64().unwrap();
    let l = load(
        &browser,
        &format!("{}?outcome=failed", url(page)),
        true,
        &dir,
    );
    assert!(l.console.is_empty(), "{:?}", l.console);
    assert!(l
        .dom
        .contains(&format!("<output id=\"shown\">{failed} shown</output>")));
    let visible_failed = l
        .dom
        .match_indices("<tr ")
        .map(|(i, _)| &l.dom[i..i + l.dom[i..].find('>').unwrap()])
        .filter(|t| t.contains("data-target") && !t.contains("hidden"))
        .inspect(|t| assert!(t.contains("data-outcome=\"failed\""), "{t}"))
        .count() as u64;
    assert_eq!(visible_failed, failed);

    // A batch this large carries closed sections' bodies inside
    // `<noscript>`, put in place when opened: `?open=all` opens every one.
    assert!(std::fs::read_to_string(page)
        .unwrap()
        .contains("<noscript class=\"lazy\">"));
    let l = load(&browser, &format!("{}?open=all", url(page)), true, &dir);
    assert!(l.console.is_empty(), "{:?}", l.console);
    assert!(
        !l.dom.contains("<noscript class=\"lazy\">"),
        "a section left unopened"
    );
    check_dom(&l.dom, json, "batch opened");
    // Opened, a section's ladder is markup in the page, not text.
    let opened = l.dom.matches("<svg class=\"lad\"").count();
    let sections = l.dom.matches("<details class=\"conn").count();
    assert_eq!(opened, sections, "ladders drawn in the opened page");

    // A link to one section (`#c0-0`, as pasted into a ticket) opens it,
    // even when its contents were carried as text.
    let last = json["files"].as_array().unwrap().len() - 1;
    let id = format!("c{last}-0");
    assert!(section(&std::fs::read_to_string(page).unwrap(), &id)
        .unwrap()
        .contains("<noscript class=\"lazy\">"));
    let l = load(&browser, &format!("{}#{id}", url(page)), true, &dir);
    assert!(l.console.is_empty(), "{:?}", l.console);
    let sec = section(&l.dom, &id).unwrap();
    assert!(
        sec.contains(" open=\"\"") && !sec.contains("<noscript"),
        "{sec}"
    );

    // A screenshot at 1280 px and a printed A4 page come out.
    let shot = dir.join("shot.png");
    let pdf = dir.join("print.pdf");
    let (_, page18, _) = &pages[2];
    let st = Command::new(&browser)
        .args(QUIET)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--window-size=1280,1000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url(page18))
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    let st = Command::new(&browser)
        .args(QUIET)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(url(page18))
        .output()
        .unwrap();
    assert!(st.status.success());
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let _ = std::fs::remove_dir_all(&dir);
}
