//! With the TLS decrypted: the server's NLA errorCode, the Early User
//! Authorization Result, a redirection, the logon notification of a
//! healthy session and the step that failed inside the connection
//! sequence, each seen (`nla.rs`, and the ladder reading decrypted PDUs).

use super::facts::{Facts, TermKind};
use super::*;
use crate::proto::inner::{AUTHZ_ACCESS_DENIED, AUTHZ_SUCCESS};
use crate::proto::mcs::{ClientInfo, Licensing};
use crate::proto::rdpdata::{SaveSessionInfo, ServerRedirection, INFOTYPE_LOGON_LONG};

/// TLS done, then the NTLM exchange decrypted (frames 10-12).
fn decrypted_nla(ex: bool) -> TlBuilder {
    let sel = if ex { HYBRID_EX } else { HYBRID };
    tls_done(SSL | HYBRID | HYBRID_EX, sel).ntlm_exchange(10, 0.02, "alice")
}

/// A frame shows evidence.
fn ev_at(d: &Diagnosis, frame: u64) -> bool {
    d.evidence.iter().any(|e| e.frame == frame)
}

#[track_caller]
fn assert_seen_explicit(d: &Diagnosis) {
    let c = d.cause.as_ref().expect("a cause");
    assert_eq!(c.basis, Certainty::Seen, "{d:#?}");
    assert_eq!(c.grounds, Grounds::Explicit, "{d:#?}");
}

#[test]
fn wrong_password_is_the_servers_error_code() {
    let d = diagnose(
        &decrypted_nla(false)
            .nla_error(13, 0.1, 0xC000_006D)
            .fin_s(14, 0.101)
            .build(),
    );
    assert_failed(&d, CauseId::CredentialsRejected, Confidence::High);
    assert_seen_explicit(&d);
    assert_eq!(d.failed_step, Some(Step::CredsspServerPubKeyAuth));
    assert_eq!(d.last_step, Some(Step::CredsspAuthenticate));
    assert_eq!(d.last_step_certainty, Some(Certainty::Seen));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Server));
    // The account tried, the refusal, the close.
    assert!(
        ev_at(&d, 12) && ev_at(&d, 13) && ev_at(&d, 14),
        "{:#?}",
        d.evidence
    );
    let summary = &d.cause.as_ref().unwrap().summary;
    assert!(summary.contains("STATUS_LOGON_FAILURE"), "{summary}");
}

#[test]
fn each_error_code_names_its_cause() {
    for (code, id) in [
        (0xC000_0234, CauseId::AccountLockedOut),
        (0xC000_0071, CauseId::PasswordExpired),
        (0xC000_0224, CauseId::PasswordMustChange),
        (0xC000_0072, CauseId::AccountDisabled),
        (0xC000_0193, CauseId::AccountExpired),
        (0xC000_015B, CauseId::LogonTypeNotGranted),
        (0xC000_006E, CauseId::AccountRestriction),
        (0xC000_006F, CauseId::LogonHoursRestriction),
        (0xC000_005E, CauseId::DomainUnreachable),
        (0xC000_0022, CauseId::AccessDenied),
        (0xC000_006A, CauseId::CredentialsRejected),
    ] {
        let d = diagnose(
            &decrypted_nla(false)
                .nla_error(13, 0.1, code)
                .rst_s(14, 0.101)
                .build(),
        );
        assert_failed(&d, id, Confidence::High);
        assert_seen_explicit(&d);
    }
    // An error code the table does not know: the server still refused the
    // authentication, which one is not known.
    let d = diagnose(
        &decrypted_nla(false)
            .nla_error(13, 0.1, 0xC000_9999)
            .fin_s(14, 0.101)
            .build(),
    );
    assert_failed(&d, CauseId::CredentialsRejected, Confidence::Medium);
}

#[test]
fn denied_authorization_result_is_access_denied_seen() {
    let d = diagnose(
        &decrypted_nla(true)
            .nla_finish(13, 0.1)
            .early_result(15, 0.3, AUTHZ_ACCESS_DENIED)
            .fin_s(16, 0.301)
            .build(),
    );
    assert_failed(&d, CauseId::AccessDenied, Confidence::High);
    assert_seen_explicit(&d);
    assert_eq!(d.failed_step, Some(Step::EarlyUserAuthResult));
    assert_eq!(d.last_step, Some(Step::CredsspCredentials));
    assert_ev!(
        d,
        15,
        Clue::Rdp(RdpClue::EarlyUserAuthResult {
            result: AUTHZ_ACCESS_DENIED
        })
    );
}

/// The connection sequence after a successful NLA, decrypted, up to the
/// Confirm Active (frame 27).
fn set_up() -> TlBuilder {
    decrypted_nla(true)
        .nla_finish(13, 0.1)
        .early_result(15, 0.2, AUTHZ_SUCCESS)
        .mcs(16, 0.21, ToServer, McsEvent::ConnectInitial(Box::default()))
        .mcs(
            17,
            0.22,
            ToClient,
            McsEvent::ConnectResponse(Box::default()),
        )
        .mcs(18, 0.23, ToServer, McsEvent::ErectDomainRequest)
        .mcs(19, 0.23, ToServer, McsEvent::AttachUserRequest)
        .mcs(
            20,
            0.24,
            ToClient,
            McsEvent::AttachUserConfirm {
                result: 0,
                user_id: Some(1007),
            },
        )
        .mcs(
            21,
            0.25,
            ToServer,
            McsEvent::ChannelJoinRequest { channel: 1003 },
        )
        .mcs(
            22,
            0.26,
            ToClient,
            McsEvent::ChannelJoinConfirm {
                result: 0,
                channel: 1003,
            },
        )
        .mcs(
            23,
            0.27,
            ToServer,
            McsEvent::ClientInfo(ClientInfo::default()),
        )
        .mcs(
            24,
            0.3,
            ToClient,
            McsEvent::Licensing(Licensing {
                msg_type: 0xff,
                error_code: Some(0x07),
                state_transition: Some(2),
            }),
        )
        .mcs(25, 0.4, ToClient, McsEvent::DemandActive)
        .mcs(27, 0.41, ToServer, McsEvent::ConfirmActive)
}

#[test]
fn a_healthy_session_says_the_logon_succeeded() {
    let d = diagnose(
        &set_up()
            .mcs(
                30,
                2.0,
                ToClient,
                McsEvent::SaveSessionInfo(SaveSessionInfo {
                    info_type: INFOTYPE_LOGON_LONG,
                    logon_errors: None,
                }),
            )
            .proto(
                31,
                2.1,
                ToClient,
                ProtoEvent::FastPath {
                    len: 900,
                    encrypted: false,
                },
            )
            .fin_c(90, 60.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert!(d.cause.is_none());
    assert_ev!(
        d,
        30,
        Clue::Rdp(RdpClue::LogonSucceeded {
            info_type: INFOTYPE_LOGON_LONG
        })
    );
}

#[test]
fn a_redirection_is_benign() {
    let r = ServerRedirection {
        session_id: 3,
        redir_flags: 0x3,
        target_net_address: Some("10.0.0.7".into()),
        load_balance_info: Some("Cookie: msts=1.2.3".into()),
        ..Default::default()
    };
    let d = diagnose(
        &set_up()
            .mcs(28, 0.5, ToClient, McsEvent::ServerRedirection(Box::new(r)))
            .fin_s(29, 0.51)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Benign, "{d:#?}");
    assert_eq!(d.benign, Some(Benign::Redirected));
    assert_ev!(d, 28, Clue::Rdp(RdpClue::ServerRedirection { target: Some(t) }) if t == "10.0.0.7");
}

#[test]
fn set_error_info_inside_tls_names_its_cause() {
    let d = diagnose(
        &set_up()
            .mcs(28, 0.5, ToClient, McsEvent::SetErrorInfo { code: 0x9 })
            .fin_s(29, 0.51)
            .build(),
    );
    assert_failed(&d, CauseId::AccessDenied, Confidence::High);
    assert_seen_explicit(&d);
}

#[test]
fn the_failing_step_inside_the_connection_sequence_is_seen() {
    // The server never answers the Connect Initial and closes.
    let d = diagnose(
        &decrypted_nla(false)
            .nla_finish(13, 0.1)
            .mcs(16, 0.21, ToServer, McsEvent::ConnectInitial(Box::default()))
            .fin_s(17, 0.4)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Failed, "{d:#?}");
    assert_eq!(d.last_step, Some(Step::McsConnectInitial));
    assert_eq!(d.last_step_certainty, Some(Certainty::Seen));
    assert_eq!(d.failed_step, Some(Step::McsConnectResponse));
}

#[test]
fn a_decrypted_step_is_not_inferred_again_from_record_order() {
    // TLS without NLA: the records carry the MCS Connect Initial and
    // Response, decrypted; the server closes before the next step.
    let d = diagnose(
        &tls_done(SSL, SSL)
            .app(10, 0.02, ToServer, 400)
            .mcs(10, 0.02, ToServer, McsEvent::ConnectInitial(Box::default()))
            .app(11, 0.03, ToClient, 300)
            .mcs(
                11,
                0.03,
                ToClient,
                McsEvent::ConnectResponse(Box::default()),
            )
            .fin_s(12, 0.5)
            .build(),
    );
    assert_eq!(d.last_step, Some(Step::McsConnectResponse), "{d:#?}");
    assert_eq!(d.last_step_certainty, Some(Certainty::Seen), "{d:#?}");
}

/// A session the server ends with an alert record (frame 40) and a FIN
/// (41); with keys, the alert read from the record.
fn ended_by_alert(read: Option<(u8, u8)>) -> Diagnosis {
    let mut b = set_up()
        .proto(
            31,
            2.1,
            ToClient,
            ProtoEvent::FastPath {
                len: 900,
                encrypted: false,
            },
        )
        .tls(40, 30.0, ToClient, TlsEvent::EncryptedAlert { len: 26 });
    if let Some((level, description)) = read {
        b = b.tls(
            40,
            30.0,
            ToClient,
            TlsEvent::DecryptedAlert { level, description },
        );
    }
    diagnose(&b.fin_s(41, 30.001).build())
}

#[test]
fn a_decrypted_alert_takes_the_place_of_the_encrypted_one() {
    let tl = set_up()
        .tls(40, 30.0, ToClient, TlsEvent::EncryptedAlert { len: 26 })
        .tls(
            40,
            30.0,
            ToClient,
            TlsEvent::DecryptedAlert {
                level: 2,
                description: 80,
            },
        )
        .build();
    let f = Facts::build(&tl);
    let alerts: Vec<_> = f.terms.iter().filter(|t| t.frame == 40).collect();
    assert_eq!(alerts.len(), 1, "{:#?}", f.terms);
    assert_eq!(
        alerts[0].kind,
        TermKind::DecryptedAlert {
            level: 2,
            description: 80
        }
    );
    assert_eq!(
        alerts[0].describe(),
        "fatal TLS alert internal_error (80) from server, decrypted"
    );
}

#[test]
fn a_fatal_decrypted_alert_ends_the_connection_a_close_notify_announces_a_close() {
    // Unread, the alert only announces the server's close.
    let unread = ended_by_alert(None);
    assert_eq!(
        unread.ending,
        Ending::ClosedBy(Party::Server),
        "{unread:#?}"
    );
    // Read as close_notify (RFC 8446 6.1): the same.
    let close = ended_by_alert(Some((1, 0)));
    assert_eq!(close.ending, Ending::ClosedBy(Party::Server), "{close:#?}");
    // Read as a fatal alert (RFC 8446 6.2): the alert ended it, by name.
    let fatal = ended_by_alert(Some((2, 80)));
    assert_eq!(
        fatal.ending,
        Ending::TlsAlert {
            from: Party::Server,
            description: Some(80)
        },
        "{fatal:#?}"
    );
    assert_eq!(fatal.ending_frame, Some(40));
    // The session ran; it did not end as a user chose.
    assert_eq!(fatal.outcome, Outcome::Established);
    assert_eq!(fatal.benign, None);
    assert!(fatal.cause.is_none());
    assert_ne!(unread.benign, None);
}

/// A server that sends no Save Session Info: its pubKeyAuth answering the
/// client's NTLM AUTHENTICATE says NLA accepted the credentials.
#[test]
fn without_a_logon_notification_the_accepted_nla_is_cited() {
    let d = diagnose(
        &set_up()
            .proto(
                31,
                2.1,
                ToClient,
                ProtoEvent::FastPath {
                    len: 900,
                    encrypted: false,
                },
            )
            .fin_c(90, 60.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert!(
        d.evidence.iter().any(|e| matches!(
            e.clue,
            Clue::Rdp(RdpClue::NlaAccepted {
                authenticate_frame: 12
            })
        ) && e.frame == 13),
        "{:#?}",
        d.evidence
    );
}
