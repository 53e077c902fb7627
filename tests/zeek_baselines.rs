//! rdptriage's JSON against Zeek's published baselines (rdp.log, ssl.log,
//! x509.log and two event printouts) for the Zeek traces in the corpus:
//! every field a baseline carries must have a counterpart in our JSON with
//! the same meaning, and the same value. The baseline values are in
//! `tests/zeek-baselines.tsv`, copied verbatim with their provenance.
//!
//! Fields that are Zeek's own bookkeeping (`uid`, file ids) have no
//! meaning to compare; fields rdptriage does not report yet are listed in
//! `NOT_REPORTED` with the reason, and the test fails if one of them is
//! met with a value the list does not expect, or is not met at all.

use rdptriage::analyze::{analyze_path, Options};
use rdptriage::report::{build_document, Input};
use serde_json::Value;
use std::collections::BTreeSet;

mod common;

const TSV: &str = "tests/zeek-baselines.tsv";

/// Zeek's bookkeeping: identifiers it makes up, nothing on the wire.
const ZEEK_ONLY: &[&str] = &["uid", "id", "cert_chain_fuids", "client_cert_chain_fuids"];

/// (log, field, why): fields rdptriage does not report (yet).
const NOT_REPORTED: &[(&str, &str, &str)] = &[];

/// Zeek's names of client builds (its RDP::builds table) met in the corpus.
const BUILDS: &[(&str, u64)] = &[("RDP 6.0", 6000), ("RDP 8.1", 9600)];

/// Zeek's ASCII log escaping undone: `\\` is a backslash.
fn unescape(v: &str) -> String {
    v.replace("\\\\", "\\")
}

/// The attributes of a distinguished name as a sorted list, from Zeek's
/// (OpenSSL: `a+b,c`, control characters as `\0D`) or ours (`a + b, c`,
/// control characters as `\r`).
fn dn_parts(dn: &str) -> Vec<String> {
    let dn = dn.replace("\\0D", "\\r").replace("\\0A", "\\n");
    let mut v: Vec<String> = dn
        .split(',')
        .flat_map(|rdn| rdn.split('+'))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    v.sort();
    v
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn rfc3339(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86400), epoch.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(x) => Some(x.clone()),
        other => Some(other.to_string()),
    }
}

/// The step order of docs/json-schema.md, to read "at least this far".
const STEPS: &[&str] = &[
    "tcp_syn",
    "tcp_syn_ack",
    "tcp_ack",
    "x224_connection_request",
    "x224_connection_confirm",
    "tls_client_hello",
    "tls_server_hello",
    "tls_server_certificate",
    "tls_server_hello_done",
    "tls_client_key_exchange",
    "tls_client_finished",
    "tls_server_finished",
    "tls_certificate_accepted",
];

/// Check one baseline field against connection `c`: None if it agrees,
/// else what differs.
fn check(log: &str, field: &str, zv: &str, c: &Value) -> Option<String> {
    let z = unescape(zv);
    let unset = z == "-";
    let cd = &c["client_data"];
    let sd = &c["server_data"];
    let cert = &sd["certificate"];
    let tls = &c["tls"];
    let ok = |b: bool, ours: String| (!b).then(|| format!("ours {ours}"));
    let port_of = |ep: &Value| s(ep).and_then(|e| e.rsplit(':').next().map(str::to_string));
    let host_of = |ep: &Value| {
        s(ep).map(|e| {
            e.rsplit_once(':')
                .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
                .unwrap_or(e)
        })
    };
    match (log, field) {
        (_, "ts") => {
            if z.starts_with('X') {
                return None; // masked by btest
            }
            // Zeek stamps the record at the first RDP or TLS event: within
            // the connection.
            let t: f64 = z.parse().ok()?;
            let first = c["first_ts"].as_str()?;
            let last = c["last_ts"].as_str()?;
            let at = rfc3339(t.floor() as i64);
            ok(
                first.get(..19)? <= at.get(..19)? && at.get(..19)? <= last.get(..19)?,
                format!("{first}..{last} for {at}"),
            )
        }
        (_, "id.orig_h") => ok(
            host_of(&c["client"]).as_deref() == Some(&z),
            c["client"].to_string(),
        ),
        (_, "id.orig_p") => ok(
            port_of(&c["client"]).as_deref() == Some(&z),
            c["client"].to_string(),
        ),
        (_, "id.resp_h") => ok(
            host_of(&c["server"]).as_deref() == Some(&z),
            c["server"].to_string(),
        ),
        (_, "id.resp_p") => ok(
            port_of(&c["server"]).as_deref() == Some(&z),
            c["server"].to_string(),
        ),
        ("rdp.log", "cookie") => {
            let ours = s(&c["negotiation"]["cookie"]);
            ok(
                match z.as_str() {
                    "(empty)" | "-" => ours.as_deref().unwrap_or("").is_empty(),
                    _ => ours.as_deref() == Some(&z),
                },
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "result") => {
            let failure = s(&c["negotiation"]["failure"]["name"]);
            let mcs = s(&sd["result_name"]);
            let tls_seen = !tls["server_hello_frame"].is_null();
            let ours = format!("failure {failure:?}, MCS {mcs:?}, TLS {tls_seen}");
            ok(
                match z.as_str() {
                    "Success" => mcs.as_deref() == Some("rt-successful"),
                    "encrypted" => tls_seen,
                    "-" => failure.is_none() && mcs.is_none() && !tls_seen,
                    name => failure.as_deref() == Some(name),
                },
                ours,
            )
        }
        ("rdp.log", "security_protocol") => {
            let ours = s(&c["negotiation"]["selected"]);
            ok(
                ours.as_deref() == (!unset).then_some(z.as_str()),
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "client_channels") => {
            let ours: Vec<String> = cd["channels"]
                .as_array()
                .map(|a| a.iter().filter_map(s).collect())
                .unwrap_or_default();
            ok(
                if unset {
                    ours.is_empty()
                } else {
                    ours.join(",") == z
                },
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "keyboard_layout") => {
            let lang = s(&cd["keyboard_language"]);
            let name = s(&cd["keyboard_layout_name"]).unwrap_or_default();
            let hex = s(&cd["keyboard_layout"]);
            let ours = format!("{hex:?} {lang:?} {name:?}");
            if unset {
                return ok(hex.is_none(), ours);
            }
            // "Thai (Best Guess for 263198)": the layout is not known, its
            // language is.
            if let Some((l, rest)) = z.split_once(" (Best Guess for ") {
                let n: u32 = rest.trim_end_matches(')').parse().ok()?;
                return ok(
                    lang.as_deref() == Some(l)
                        && hex == Some(format!("0x{n:08x}"))
                        && name.contains("not known"),
                    ours,
                );
            }
            // "English - United States" is our "English (United States)".
            let want = match z.split_once(" - ") {
                Some((a, b)) => format!("{a} ({b})"),
                None => z.clone(),
            };
            ok(lang.as_deref() == Some(&want), ours)
        }
        ("rdp.log", "client_build") => {
            let ours = cd["client_build"].as_u64();
            let want = BUILDS.iter().find(|(n, _)| *n == z).map(|(_, b)| *b);
            ok(
                if unset {
                    ours.is_none()
                } else {
                    want.is_some() && ours == want
                },
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "client_name") => {
            let ours = s(&cd["client_name"]);
            ok(
                ours.as_deref() == (!unset).then_some(z.as_str()),
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "client_dig_product_id") => {
            let ours = s(&cd["client_dig_product_id"]);
            let want = match z.as_str() {
                "-" => None,
                "(empty)" => Some(""),
                v => Some(v),
            };
            ok(ours.as_deref() == want, format!("{ours:?}"))
        }
        ("rdp.log", "desktop_width" | "desktop_height") => {
            let ours = s(&cd["desktop"]);
            let part = ours
                .as_deref()
                .and_then(|d| d.split_once('x'))
                .map(|(w, h)| {
                    if field == "desktop_width" {
                        w.to_string()
                    } else {
                        h.to_string()
                    }
                });
            ok(
                part.as_deref() == (!unset).then_some(z.as_str()),
                format!("{ours:?}"),
            )
        }
        ("rdp.log", "requested_color_depth") => {
            let ours = cd["requested_color_depth"].as_u64();
            let want = z.strip_suffix("bit").and_then(|b| b.parse().ok());
            ok(ours == want, format!("{ours:?}"))
        }
        ("rdp.log", "cert_type") => {
            let ours = s(&cert["type"]);
            let want = match z.as_str() {
                "RSA" => Some("proprietary"),
                "X.509" => Some("x509_chain"),
                _ => None,
            };
            ok(ours.as_deref() == want, format!("{ours:?}"))
        }
        ("rdp.log", "cert_count") => {
            let ours = cert["count"].as_u64().unwrap_or(0);
            ok(ours.to_string() == z, ours.to_string())
        }
        ("rdp.log", "cert_permanent") => {
            let ours = cert["permanent"].as_bool();
            let want = match z.as_str() {
                "T" => Some(true),
                "F" => Some(false),
                _ => None,
            };
            ok(ours == want, format!("{ours:?}"))
        }
        ("rdp.log", "encryption_level" | "encryption_method") => {
            let ours = s(&sd[format!("{field}_name").as_str()]);
            let want = (!unset).then(|| z.to_lowercase().replace(' ', "_"));
            ok(ours == want, format!("{ours:?}"))
        }
        ("out", "encryption_methods") => {
            // Zeek prints the bits (27 = 0x1b); we print their names.
            let n: u32 = z.parse().ok()?;
            let want: Vec<&str> = [(1, "40bit"), (2, "128bit"), (8, "56bit"), (0x10, "fips")]
                .iter()
                .filter(|(b, _)| n & b != 0)
                .map(|(_, name)| *name)
                .collect();
            let ours: Vec<String> = cd["encryption_methods"]
                .as_array()
                .map(|a| a.iter().filter_map(s).collect())
                .unwrap_or_default();
            ok(ours == want, format!("{ours:?}"))
        }
        ("out", "cluster.flags") => {
            let ours = s(&cd["cluster"]["flags"]);
            ok(ours == Some(format!("0x{z}")), format!("{ours:?}"))
        }
        ("out", "cluster.redir_session_id") => {
            // Zero with REDIRECTED_SESSIONID_FIELD_VALID clear: no session.
            let present = cd["cluster"]["session_id_present"].as_bool();
            let id = cd["cluster"]["redirected_session_id"].as_u64().unwrap_or(0);
            ok(
                present.is_some() && u64::from_str_radix(&z, 16).ok() == Some(id),
                format!("{present:?} {id}"),
            )
        }
        ("ssl.log", "version") => {
            let ours = s(&tls["server_version"]);
            let want = z.strip_prefix("TLSv1").map(|m| format!("TLS 1.{m}"));
            ok(ours == want, format!("{ours:?}"))
        }
        ("ssl.log", "cipher") => {
            let ours = s(&tls["cipher"]);
            ok(ours.as_deref() == Some(&z), format!("{ours:?}"))
        }
        ("ssl.log", "curve") => {
            // No curve: the suite's key exchange is RSA.
            let ours = s(&tls["cipher"]).unwrap_or_default();
            ok(unset && ours.starts_with("TLS_RSA_"), ours)
        }
        ("ssl.log", "server_name") => {
            let ours = s(&tls["sni"]);
            ok(
                ours.as_deref() == (!unset).then_some(z.as_str()),
                format!("{ours:?}"),
            )
        }
        ("ssl.log", "resumed") => {
            // A resumed session has no server Certificate message.
            let full = c["certificates"].as_array().is_some_and(|a| !a.is_empty());
            ok(z == "F" && full, format!("certificates seen {full}"))
        }
        ("ssl.log", "last_alert") => {
            let n = tls["alerts"].as_array().map(Vec::len).unwrap_or(0);
            ok(unset && n == 0, format!("{n} alerts"))
        }
        ("ssl.log", "established") => {
            let last = s(&c["last_step"]).unwrap_or_default();
            let reached = STEPS.iter().position(|x| *x == last);
            let finished = STEPS.iter().position(|x| *x == "tls_server_finished");
            let done = reached.is_none() && !last.is_empty() || reached >= finished;
            ok((z == "T") == done, last)
        }
        ("ssl.log", "cert_chain_fps") => {
            let ours: Vec<String> = c["certificates"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| s(&x["sha256"])).collect())
                .unwrap_or_default();
            ok(ours.join(",") == z, format!("{ours:?}"))
        }
        ("ssl.log", "subject" | "issuer") => {
            let ours = s(&c["certificates"][0][field]).unwrap_or_default();
            ok(dn_parts(&ours) == dn_parts(&z), ours)
        }
        ("ssl.log", "next_protocol") => {
            let ours = s(&tls["next_protocol"]);
            ok(
                ours.as_deref() == (!unset).then_some(z.as_str()),
                format!("{ours:?}"),
            )
        }
        ("ssl.log", "ssl_history") => {
            let ours = s(&tls["history"]).unwrap_or_default();
            ok(ours == z, ours)
        }
        ("ssl.log", "client_cert_chain_fps") => {
            let ours: Vec<String> = c["client_certificates"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| s(&x["sha256"])).collect())
                .unwrap_or_default();
            let want = if z == "(empty)" { "" } else { z.as_str() };
            ok(ours.join(",") == want, format!("{ours:?}"))
        }
        ("ssl.log", "client_subject" | "client_issuer") => {
            let ours = s(&c["client_certificates"][0][field.trim_start_matches("client_")]);
            ok(
                match (unset, &ours) {
                    (true, None) => true,
                    (false, Some(o)) => dn_parts(o) == dn_parts(&z),
                    _ => false,
                },
                format!("{ours:?}"),
            )
        }
        ("out", "ext_encryption_methods") => {
            let ours = cd["ext_encryption_methods"].as_u64();
            ok(
                ours.map(|v| v.to_string()) == Some(z.clone()),
                format!("{ours:?}"),
            )
        }
        ("ssl.log", "sni_matches_cert") => {
            // Unset: Zeek judges it only for a name it could match.
            let ours = s(&tls["sni"]);
            ok(unset && ours.is_none(), format!("{ours:?}"))
        }
        (l, f) if l.starts_with("x509.log:") => {
            let serial = l.trim_start_matches("x509.log:").to_lowercase();
            let certs = c["certificates"].as_array()?;
            let Some(x) = certs
                .iter()
                .find(|x| s(&x["serial"]).as_deref() == Some(&serial))
            else {
                return Some(format!("no certificate with serial {serial}"));
            };
            let key = s(&x["key"]).unwrap_or_default();
            match f {
                "certificate.serial" => None,
                "certificate.subject" | "certificate.issuer" => {
                    let ours = s(&x[f.trim_start_matches("certificate.")]).unwrap_or_default();
                    ok(dn_parts(&ours) == dn_parts(&z), ours)
                }
                "certificate.not_valid_before" | "certificate.not_valid_after" => {
                    let k = if f.ends_with("before") {
                        "not_before"
                    } else {
                        "not_after"
                    };
                    let ours = s(&x[k]).unwrap_or_default();
                    let t: f64 = z.parse().ok()?;
                    ok(ours == rfc3339(t as i64), ours)
                }
                "certificate.sig_alg" => {
                    let ours = s(&x["signature_algorithm"]).unwrap_or_default();
                    ok(ours == z, ours)
                }
                "certificate.key_type" => ok(key.to_lowercase().starts_with(&z), key),
                "certificate.key_length" => ok(key.ends_with(&format!(" {z}")), key),
                "certificate.curve" => ok(unset && !key.starts_with("EC"), key),
                "certificate.version" => {
                    let ours = x["version"].as_u64();
                    ok(
                        ours.map(|v| v.to_string()) == Some(z.clone()),
                        format!("{ours:?}"),
                    )
                }
                "certificate.key_alg" => {
                    let ours = s(&x["key_algorithm"]).unwrap_or_default();
                    ok(ours == z, ours)
                }
                "certificate.exponent" => {
                    let ours = x["key_exponent"].as_u64();
                    ok(
                        ours.map(|v| v.to_string()) == Some(z.clone()),
                        format!("{ours:?}"),
                    )
                }
                "basic_constraints.ca" => {
                    let ours = x["ca"].as_bool();
                    let want = match z.as_str() {
                        "T" => Some(true),
                        "F" => Some(false),
                        _ => None,
                    };
                    ok(ours == want, format!("{ours:?}"))
                }
                "basic_constraints.path_len" => {
                    let ours = x["path_len"].as_u64();
                    ok(
                        ours.map(|v| v.to_string()) == (!unset).then(|| z.clone()),
                        format!("{ours:?}"),
                    )
                }
                "san.dns" | "san.uri" | "san.email" | "san.ip" => {
                    let n = x["sans"].as_array().map(Vec::len).unwrap_or(0);
                    ok(unset && n == 0, format!("{n} SANs"))
                }
                _ => Some(format!("no counterpart for x509.log {f}")),
            }
        }
        _ => Some(format!("no counterpart for {log} {field}")),
    }
}

#[test]
fn json_agrees_with_zeek_baselines() {
    let Some(corpus) = common::corpus_dir() else {
        common::skip_note("Zeek baseline comparison");
        return;
    };
    let text = std::fs::read_to_string(TSV).expect(TSV);
    let mut problems = Vec::new();
    let mut not_reported_met: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut docs_keys = BTreeSet::new();
    let (mut compared, mut skipped) = (0, 0);
    let mut current: Option<(String, Value)> = None;
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 6, "{TSV}: {line}");
        let (capture, port, log, field, value) = (cols[0], cols[1], cols[2], cols[3], cols[4]);
        assert!(
            cols[5].starts_with("zeek/zeek testing/btest/Baseline/"),
            "{line}"
        );
        if current.as_ref().map(|(c, _)| c.as_str()) != Some(capture) {
            let path = corpus.join(capture);
            let r = analyze_path(&path.to_string_lossy(), &Options::default());
            let doc = serde_json::to_value(build_document(&[Input::new(&r)])).unwrap();
            collect_keys(&doc, &mut docs_keys);
            current = Some((capture.to_string(), doc));
        }
        let doc = &current.as_ref().unwrap().1;
        let Some(conn) = doc["files"][0]["connections"].as_array().and_then(|a| {
            a.iter().find(|c| {
                c["client"]
                    .as_str()
                    .is_some_and(|e| e.ends_with(&format!(":{port}")))
            })
        }) else {
            problems.push(format!("{capture}: no connection from port {port}"));
            continue;
        };
        let base_log = log.split(':').next().unwrap_or(log);
        if ZEEK_ONLY.contains(&field) {
            skipped += 1;
            continue;
        }
        if let Some((l, f, _)) = NOT_REPORTED
            .iter()
            .find(|(l, f, _)| *l == base_log && *f == field)
        {
            not_reported_met.insert((l, f));
            skipped += 1;
            continue;
        }
        compared += 1;
        if let Some(why) = check(log, field, value, conn) {
            problems.push(format!(
                "{capture} port {port} {log} {field}: Zeek {value:?}, {why}"
            ));
        }
    }
    for (l, f, why) in NOT_REPORTED {
        if !not_reported_met.contains(&(*l, *f)) {
            problems.push(format!(
                "{l} {f} is listed as not reported ({why}) but no baseline carries it"
            ));
        }
    }
    // Every key of the JSON on these traces is documented.
    let schema = include_str!("../docs/json-schema.md");
    for k in &docs_keys {
        if !schema.contains(&format!("`{k}`")) {
            problems.push(format!(
                "JSON key `{k}` not documented in docs/json-schema.md"
            ));
        }
    }
    eprintln!(
        "zeek_baselines: {compared} fields compared, {skipped} not compared (Zeek bookkeeping or listed as not reported), {} problems",
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn collect_keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                collect_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_keys(x, out)),
        _ => {}
    }
}
