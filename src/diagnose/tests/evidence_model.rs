//! The readings the evidence model added, each on a timeline that is not
//! the lab capture it was first seen in (other timings, other sizes, other
//! servers), and with the nearby case that must read differently.

use super::*;
use crate::common::Dir;

/// TLS without NLA: the handshake, then `client` and `server` application
/// records (frame, time) after it.
fn tls_records(client: &[(u64, f64)], server: &[(u64, f64)]) -> TlBuilder {
    let mut b = tls_done(SSL, SSL);
    let mut all: Vec<(u64, f64, Dir)> = client
        .iter()
        .map(|&(f, t)| (f, t, ToServer))
        .chain(server.iter().map(|&(f, t)| (f, t, ToClient)))
        .collect();
    all.sort_by_key(|r| r.0);
    for (f, t, d) in all {
        b = b.app(f, t, d, 300);
    }
    b
}

#[test]
fn a_server_that_drops_a_running_session_without_goodbye_cut_it_off() {
    // A session of ten minutes; the server's last data at 550 s, the client
    // still typing at 599 s, then the server's kernel closes (its process
    // died): no close_notify, no Disconnect Provider Ultimatum.
    let cut = || {
        session()
            .last_payload(ToClient, 300, 550.0)
            .last_payload(ToServer, 340, 599.0)
    };
    let d = diagnose(&cut().fin_s(341, 599.2).build());
    assert_broke(&d, CauseId::ServerClosed, Confidence::Medium);
    assert_eq!(d.ending, Ending::ClosedBy(Party::Server));
    assert_ev!(
        d,
        341,
        Clue::End {
            term: Term { dir: ToClient, .. },
            note: EndNote::NoGoodbye,
            ..
        }
    );
    // The same close after the server's close_notify is a logoff.
    let d = diagnose(
        &cut()
            .tls(341, 599.1, ToClient, TlsEvent::EncryptedAlert { len: 26 })
            .fin_s(342, 599.2)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(id(&d), None, "{d:#?}");
    // And a server that closes when the client had gone quiet too.
    let d = diagnose(
        &session()
            .last_payload(ToServer, 300, 550.0)
            .last_payload(ToClient, 340, 599.0)
            .fin_s(341, 599.2)
            .build(),
    );
    assert_eq!(id(&d), None, "{d:#?}");
}

#[test]
fn records_both_ways_after_the_handshake_are_past_set_up() {
    // Two client records and two server records, a quarter of a second,
    // then the client closes gracefully: a short session, not a failure,
    // whatever the volume.
    let b = tls_records(&[(10, 0.02), (12, 0.05)], &[(11, 0.03), (13, 0.06)]);
    let d = diagnose(&b.fin_c(20, 0.25).build());
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert_eq!(d.last_step, Some(Step::McsConnectResponse));
    assert_eq!(d.last_step_certainty, Some(Certainty::Inferred));
    assert_eq!(id(&d), None);
}

#[test]
fn a_server_that_closes_during_set_up_inside_tls_refused_it() {
    let b = tls_records(&[(10, 0.02)], &[(11, 0.03)]);
    let d = diagnose(&b.fin_s(12, 4.0).build());
    assert_failed(&d, CauseId::ServerDeniedSession, Confidence::Low);
    assert_eq!(d.failed_step, Some(Step::SessionData));
    // The cause rests on an inferred step: at most Low, said so.
    assert_eq!(d.cause.as_ref().unwrap().basis, Certainty::Inferred);
}

#[test]
fn a_client_reset_without_a_close_during_set_up_is_an_abort() {
    let b = || tls_records(&[(10, 0.02)], &[(11, 0.03)]);
    let d = diagnose(&b().rst_c(12, 9.0).build());
    assert_failed(&d, CauseId::ClientAborted, Confidence::Low);
    // A FIN first: the client closed on purpose.
    let d = diagnose(&b().fin_c(12, 9.0).rst_c(13, 9.1).build());
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert_eq!(id(&d), None);
}

#[test]
fn tls_1_3_session_tickets_are_no_answer() {
    // A TLS 1.3 server sends tickets after the client's Finished whether
    // or not its RDP service answers: the client must go on after them.
    let tls13 = || {
        negotiated(SSL, SSL)
            .client_hello(6, 0.01)
            .server_hello(7, 0.011, 0x0304)
            .tls(
                7,
                0.011,
                ToClient,
                TlsEvent::EncryptedHandshake { len: 900 },
            )
            .tls(8, 0.012, ToServer, TlsEvent::EncryptedHandshake { len: 53 })
            .app(9, 0.013, ToServer, 420)
            .app(10, 0.013, ToClient, 250)
    };
    // Nothing after the tickets, then the client gives up: not "past set-up".
    let d = diagnose(&tls13().fin_c(11, 30.0).build());
    assert_ne!(d.outcome, Outcome::Established, "{d:#?}");
    // The client's next record after them: the server answered.
    let d = diagnose(&tls13().app(11, 0.02, ToServer, 40).fin_c(12, 3.0).build());
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
}

#[test]
fn whoever_sent_close_notify_first_closed_the_connection() {
    let d = diagnose(
        &session()
            .tls(100, 130.0, ToServer, TlsEvent::EncryptedAlert { len: 24 })
            .tls(101, 130.001, ToClient, TlsEvent::EncryptedAlert { len: 24 })
            .fin_s(102, 130.002)
            .rst_c(103, 130.003)
            .build(),
    );
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client), "{d:#?}");
    assert_eq!(id(&d), None);
}

#[test]
fn a_client_that_reads_the_ntlm_challenge_and_leaves_is_a_probe() {
    let b = || {
        tls_done(SSL | HYBRID, HYBRID)
            .leg(10, 0.02, Negotiate)
            .leg(11, 0.021, Challenge)
    };
    let d = diagnose(&b().fin_c(12, 0.4).build());
    assert_eq!(d.outcome, Outcome::Benign, "{d:#?}");
    assert_eq!(d.benign, Some(Benign::Probe));
    // An abort there is no probe's graceful goodbye.
    let d = diagnose(&b().rst_c(12, 0.4).build());
    assert_ne!(d.benign, Some(Benign::Probe));
}

#[test]
fn nla_completed_then_the_client_leaves_is_a_credential_check() {
    let b = || {
        nla(false)
            .leg(13, 0.04, ServerPubKeyAuth)
            .leg(14, 0.05, Credentials)
    };
    let d = diagnose(&b().fin_c(15, 1.5).build());
    assert_eq!(d.outcome, Outcome::Benign, "{d:#?}");
    assert_eq!(d.benign, Some(Benign::CredentialPrecheck));
    // The server closing there refused the logon.
    let d = diagnose(&b().fin_s(15, 1.5).build());
    assert_failed(&d, CauseId::AccessDenied, Confidence::Medium);
}

#[test]
fn a_server_that_answers_authenticate_and_closes_rejected_it() {
    // The server's answer was mapped as pubKeyAuth, but it closed instead of
    // waiting for the credentials: it was the error TSRequest.
    let d = diagnose(
        &nla(false)
            .leg(13, 0.2, ServerPubKeyAuth)
            .fin_s(14, 0.21)
            .build(),
    );
    assert_failed(&d, CauseId::CredentialsRejected, Confidence::Medium);
    assert_eq!(d.last_step, Some(Step::CredsspAuthenticate));
    assert_eq!(d.failed_step, Some(Step::CredsspServerPubKeyAuth));
}

#[test]
fn a_disconnect_pdu_from_the_server_during_set_up_is_explicit() {
    let d = diagnose(
        &negotiated(RDP, RDP)
            .mcs(6, 0.01, ToServer, McsEvent::ConnectInitial(Box::default()))
            .mcs(7, 0.02, ToClient, McsEvent::ConnectResponse(Box::default()))
            .mcs(
                8,
                0.5,
                ToClient,
                McsEvent::DisconnectProviderUltimatum { reason: 1 },
            )
            .fin_s(9, 0.5)
            .build(),
    );
    assert_failed(&d, CauseId::ServerDeniedSession, Confidence::High);
    assert_eq!(d.cause.as_ref().unwrap().grounds, Grounds::Explicit);
}

#[test]
fn a_negotiation_failure_the_peers_ignore_climbs_only_with_the_server() {
    // The client sends its Connect Initial regardless; the server closes.
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .neg_failure(5, 0.004, 5)
            .mcs(6, 0.005, ToServer, McsEvent::ConnectInitial(Box::default()))
            .fin_s(7, 0.006)
            .build(),
    );
    assert_failed(&d, CauseId::NlaRequired, Confidence::High);
    assert_eq!(d.last_step, Some(Step::ConnectionRequest));
}
