//! Retries grouped into attempts: a client that tries the same server
//! several times in a row made one attempt ("4 attempts, all failed at the
//! same step"), not several unrelated failures. Grouping also confirms or
//! corrects what one connection alone cannot tell: a short NLA connection
//! followed by the real one is the Windows client's credential pre-check.

use super::rules::cause;
use super::{Benign, Cause, CauseId, Confidence, Diagnosis, Outcome, Step};
use crate::common::{Duration, Timestamp};
use crate::timeline::Timeline;
use std::net::{IpAddr, SocketAddr};

/// A connection starting within this time of the end of the previous one
/// (same client address, same server address and port) is a retry.
pub const RETRY_WINDOW: Duration = Duration::from_secs(30);

/// The Windows client's credential pre-check is followed by the real
/// connection once the user has confirmed (a certificate prompt, a
/// credential dialog): the corpus shows 34 s between them. A connection
/// this soon after a pre-check belongs to the same attempt.
pub const PRECHECK_WINDOW: Duration = Duration::from_secs(120);

/// A burst of connections this close together (each starting within this
/// time of the previous one's end) is one program at work: clients retry on
/// their own at most once (FreeRDP after a refusal: two connections each in
/// lab captures 05, 06 and 08), and otherwise report the failure and wait
/// for the user (mstsc's error dialog).
pub const BURST_GAP: Duration = Duration::from_secs(2);

/// Distinct security offers in one burst that make it an enumeration: a
/// client offers the same protocols on every retry, and FreeRDP's one
/// fallback (NLA refused, then TLS) makes two.
pub const PROBE_OFFERS: usize = 3;

/// A corrected verdict for one connection of an attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Relabel {
    pub stream: u64,
    pub outcome: Outcome,
    pub benign: Option<Benign>,
    pub cause: Option<Cause>,
    pub failed_step: Option<Step>,
    /// Why, in one sentence.
    pub note: String,
}

impl Relabel {
    /// The diagnosis with this correction applied.
    pub fn apply(&self, d: &Diagnosis) -> Diagnosis {
        let mut d = d.clone();
        d.outcome = self.outcome;
        d.benign = self.benign;
        d.cause = self.cause.clone();
        d.failed_step = self.failed_step;
        if let Some(s) = self.failed_step {
            d.phase = s.phase();
        }
        d.caveats.push(self.note.clone());
        d
    }
}

/// Connections from one client to one server in quick succession.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Stream numbers in time order.
    pub streams: Vec<u64>,
    pub client: IpAddr,
    pub server: SocketAddr,
    /// Start of the first connection and end of the last.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Connections that failed (after corrections); benign ones are not
    /// failures.
    pub failed: usize,
    pub benign: usize,
    /// Some connection reached the session.
    pub established: bool,
    /// Every connection failed, and at the same step.
    pub all_failed_same_step: bool,
    /// That step, when they all failed at the same one.
    pub failed_step: Option<Step>,
    /// e.g. "4 attempts from 10.0.0.1 to 10.0.0.2:3389 within 7.0 s, all
    /// failed at TCP SYN/ACK (port_closed)".
    pub summary: String,
    /// Verdicts corrected by looking at the neighbours.
    pub relabels: Vec<Relabel>,
}

/// Group connections into attempts. Pure: the result depends only on the
/// input (order of the input does not matter).
pub fn group_attempts(items: &[(&Timeline, &Diagnosis)]) -> Vec<Attempt> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| {
        let tl = items[i].0;
        (
            tl.endpoints.client.ip(),
            tl.endpoints.server,
            tl.first_ts,
            tl.stream,
        )
    });
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_end = Timestamp::default();
    for i in order {
        let tl = items[i].0;
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|&j| {
            let (prev, pd) = items[j];
            let window = if pd.benign == Some(Benign::CredentialPrecheck)
                || pd.cause.as_ref().map(|c| c.id) == Some(CauseId::PubKeyAuthRejected)
            {
                PRECHECK_WINDOW
            } else {
                RETRY_WINDOW
            };
            prev.endpoints.client.ip() == tl.endpoints.client.ip()
                && prev.endpoints.server == tl.endpoints.server
                && tl.first_ts.since(group_end) <= window
        });
        if joins {
            if let Some(g) = groups.last_mut() {
                g.push(i);
            }
            group_end = group_end.max(tl.last_ts);
        } else {
            groups.push(vec![i]);
            group_end = tl.last_ts;
        }
    }
    groups.iter().map(|g| attempt(items, g)).collect()
}

/// A member's verdict after corrections: outcome, benign kind, cause,
/// failed step.
type Effective = (Outcome, Option<Benign>, Option<CauseId>, Option<Step>);

fn reached_credentials(d: &Diagnosis) -> bool {
    d.outcome == Outcome::Established
        || d.benign == Some(Benign::SessionEnd)
        || d.last_step.is_some_and(|s| s >= Step::CredsspCredentials)
}

fn attempt(items: &[(&Timeline, &Diagnosis)], g: &[usize]) -> Attempt {
    let tls: Vec<&Timeline> = g.iter().map(|&i| items[i].0).collect();
    let ds: Vec<&Diagnosis> = g.iter().map(|&i| items[i].1).collect();
    let mut relabels = Vec::new();
    // Whether some member after each one reached the credentials: one
    // pass from the end, so an attempt of many retries costs linear time.
    let mut later_reached = vec![false; ds.len()];
    for k in (1..ds.len()).rev() {
        later_reached[k - 1] = later_reached[k] || reached_credentials(ds[k]);
    }
    for (k, d) in ds.iter().enumerate() {
        let followed = k + 1 < ds.len();
        let tl = tls[k];
        match (d.benign, d.cause.as_ref().map(|c| c.id)) {
            (Some(Benign::CredentialPrecheck), _)
                if !followed && tl.capture_end.since(tl.last_ts) >= PRECHECK_WINDOW =>
            {
                relabels.push(Relabel {
                    stream: tl.stream,
                    outcome: Outcome::Failed,
                    benign: None,
                    failed_step: Some(Step::CredsspCredentials),
                    cause: Some(cause(
                        CauseId::PubKeyAuthRejected,
                        Confidence::Low,
                        "The client closed after the server's pubKeyAuth and did not connect \
                         again: not a credential pre-check; it could not verify the server's \
                         public-key binding (TLS interception or a certificate swap)."
                            .into(),
                    )),
                    note: format!(
                        "no connection followed within {} although the capture went on: not a \
                         credential pre-check",
                        PRECHECK_WINDOW
                    ),
                });
            }
            (_, Some(CauseId::PubKeyAuthRejected)) if later_reached[k] => {
                relabels.push(Relabel {
                    stream: tl.stream,
                    outcome: Outcome::Benign,
                    benign: Some(Benign::CredentialPrecheck),
                    cause: None,
                    failed_step: None,
                    note: "a following connection from the same client sent its credentials: \
                           this short NLA connection was the client's credential pre-check"
                        .into(),
                });
            }
            _ => {}
        }
    }
    probe_bursts(&tls, &ds, &mut relabels);
    let relabelled: std::collections::HashMap<u64, &Relabel> =
        relabels.iter().map(|r| (r.stream, r)).collect();
    let eff: Vec<Effective> = tls
        .iter()
        .zip(&ds)
        .map(|(tl, d)| match relabelled.get(&tl.stream) {
            Some(r) => (
                r.outcome,
                r.benign,
                r.cause.as_ref().map(|c| c.id),
                r.failed_step,
            ),
            None => (
                d.outcome,
                d.benign,
                d.cause.as_ref().map(|c| c.id),
                d.failed_step,
            ),
        })
        .collect();
    let failed = eff.iter().filter(|e| e.0 == Outcome::Failed).count();
    let benign = eff.iter().filter(|e| e.0 == Outcome::Benign).count();
    let established = eff
        .iter()
        .any(|e| e.0 == Outcome::Established || e.1 == Some(Benign::SessionEnd));
    let all_failed_same_step = failed == eff.len() && eff.windows(2).all(|w| w[0].3 == w[1].3);
    let failed_step = if all_failed_same_step {
        eff.first().and_then(|e| e.3)
    } else {
        None
    };
    let first = tls.iter().map(|t| t.first_ts).min().unwrap_or_default();
    let last = tls.iter().map(|t| t.last_ts).max().unwrap_or_default();
    let (client, server) = match tls.first() {
        Some(t) => (t.endpoints.client.ip(), t.endpoints.server),
        None => (
            std::net::IpAddr::from([0, 0, 0, 0]),
            SocketAddr::from(([0, 0, 0, 0], 0)),
        ),
    };
    let n = eff.len();
    let head = if n == 1 {
        format!("1 connection from {client} to {server}")
    } else {
        format!(
            "{n} {} from {client} to {server} within {}",
            if failed == n {
                "attempts"
            } else {
                "connections"
            },
            last.since(first)
        )
    };
    let summary = if n > 1 && all_failed_same_step {
        let causes: Vec<&str> = {
            let mut c: Vec<&str> = eff.iter().filter_map(|e| e.2.map(|c| c.id())).collect();
            c.dedup();
            c
        };
        format!(
            "{head}, all failed at {}{}",
            failed_step.map(Step::label).unwrap_or("the same step"),
            if causes.is_empty() {
                String::new()
            } else {
                format!(" ({})", causes.join(", "))
            }
        )
    } else {
        // Runs of identical labels, in time order.
        let labels: Vec<String> = eff.iter().map(|e| label(e.0, e.1, e.2, e.3)).collect();
        let mut runs: Vec<(String, usize)> = Vec::new();
        for l in labels {
            match runs.last_mut() {
                Some((p, c)) if *p == l => *c += 1,
                _ => runs.push((l, 1)),
            }
        }
        let parts: Vec<String> = runs
            .into_iter()
            .map(|(l, c)| if c == 1 { l } else { format!("{c} x {l}") })
            .collect();
        format!("{head}: {}", parts.join(", then "))
    };
    Attempt {
        streams: tls.iter().map(|t| t.stream).collect(),
        client,
        server,
        first,
        last,
        failed,
        benign,
        established,
        all_failed_same_step,
        failed_step,
        summary,
        relabels,
    }
}

fn label(o: Outcome, b: Option<Benign>, c: Option<CauseId>, s: Option<Step>) -> String {
    if b == Some(Benign::SessionEnd) {
        return "session (ended normally)".into();
    }
    match o {
        Outcome::Failed => format!(
            "failed at {}{}",
            s.map(Step::label).unwrap_or("an unknown step"),
            c.map(|c| format!(" ({})", c.id())).unwrap_or_default()
        ),
        Outcome::Benign => match b {
            Some(Benign::CredentialPrecheck) => "credential pre-check".into(),
            Some(Benign::HealthCheck) => "health check".into(),
            Some(Benign::Scanner) => "port scan".into(),
            Some(Benign::Probe) => "probe".into(),
            Some(Benign::Redirected) => "redirected".into(),
            Some(Benign::SessionEnd) => "session (ended normally)".into(),
            None => "benign".into(),
        },
        Outcome::Established => "established".into(),
        Outcome::Incomplete => "incomplete (capture too short)".into(),
        Outcome::NotRdp => "not RDP".into(),
    }
}

/// Security enumeration (nmap's rdp-enum-encryption and the like): back-to-
/// back connections from one client, each offering other security
/// protocols and leaving once the server has answered. Each connection
/// alone looks like a negotiation failure or a client that left; together
/// they are one probe, not a user's failures.
fn probe_bursts(tls: &[&Timeline], ds: &[&Diagnosis], relabels: &mut Vec<Relabel>) {
    let offer = |tl: &Timeline| {
        tl.connection_request()
            .map(|(_, r)| r.neg_req.as_ref().map(|n| n.requested.0))
    };
    let mut start = 0;
    for end in 1..=tls.len() {
        let breaks = end == tls.len() || tls[end].first_ts.since(tls[end - 1].last_ts) > BURST_GAP;
        if !breaks {
            continue;
        }
        let run = start..end;
        let n = run.len();
        start = end;
        let mut offers: Vec<Option<u32>> = run.clone().filter_map(|k| offer(tls[k])).collect();
        offers.sort_unstable();
        offers.dedup();
        if offers.len() < PROBE_OFFERS {
            continue;
        }
        for k in run {
            let d = ds[k];
            let ran = d.last_step == Some(Step::SessionData);
            if d.outcome == Outcome::Benign || ran || offer(tls[k]).is_none() {
                continue;
            }
            relabels.retain(|r| r.stream != tls[k].stream);
            relabels.push(Relabel {
                stream: tls[k].stream,
                outcome: Outcome::Benign,
                benign: Some(Benign::Probe),
                cause: None,
                failed_step: None,
                note: format!(
                    "one of {} back-to-back connections from the same client offering {} \
                     different security protocols: a security enumeration probe, not a \
                     user's failure",
                    n,
                    offers.len()
                ),
            });
        }
    }
}
