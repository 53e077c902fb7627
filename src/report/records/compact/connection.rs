//! A connection's JSON Lines record written field by field: the field
//! names are constants copied whole, the values written by the
//! serialiser's own methods, without serde's calls per field (a record
//! has some 150 fields, written by the million). The bytes are those the
//! derived `Serialize` writes through [`super::write`]: each struct is
//! taken apart field by field (a field added to one fails to compile
//! here until it is written), in the order of its declaration; the parts
//! most connections leave empty or null (the negotiation, TLS,
//! certificates, the decrypted messages) go through serde as before.
//! Unit tests compare the two on every report of the lab captures.

use super::{string, with_writer, Error, Writer};
use crate::report::model::*;
use crate::report::records::RECORD_CONNECTION;
use serde::ser::{Serialize, Serializer};
use serde_json::ser::{CompactFormatter, Formatter};

/// A value written as JSON.
trait Put {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error>;
}

impl Writer<'_> {
    #[inline(always)]
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

/// Numbers, floats and booleans as the serialiser writes them.
macro_rules! put_scalar {
    ($($t:ty => $f:ident;)*) => {
        $(impl Put for $t {
            #[inline(always)]
            fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
                (&mut *w).$f(*self)
            }
        })*
    };
}

put_scalar! {
    u8 => serialize_u8;
    u32 => serialize_u32;
    u64 => serialize_u64;
    f64 => serialize_f64;
    bool => serialize_bool;
}

impl Put for String {
    #[inline(always)]
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        string(w.out, self);
        Ok(())
    }
}

impl Put for Text {
    #[inline(always)]
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        match self.as_fixed() {
            Some(fixed) => w.fixed_str(fixed),
            None => string(w.out, self),
        }
        Ok(())
    }
}

impl<T: Put> Put for Option<T> {
    #[inline(always)]
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        match self {
            Some(v) => v.put(w),
            None => {
                w.raw(b"null");
                Ok(())
            }
        }
    }
}

impl<T: Put> Put for Vec<T> {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.raw(b"[");
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                w.raw(b",");
            }
            v.put(w)?;
        }
        w.raw(b"]");
        Ok(())
    }
}

/// What most connections leave empty or null: written by serde.
macro_rules! put_by_serde {
    ($($t:ty),* $(,)?) => {
        $(impl Put for $t {
            fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
                self.serialize(&mut *w)
            }
        })*
    };
}

put_by_serde!(
    Negotiation,
    Tls,
    Certificate,
    ClientData,
    ServerData,
    CredsspItem,
    NlaItem,
    RdpMessage,
    Decryption,
);

/// `,"name":` (the name of a field, which needs no escaping).
macro_rules! key {
    ($w:ident, $f:ident) => {
        $w.raw(concat!(",\"", stringify!($f), "\":").as_bytes())
    };
}

/// The fields of `$v`, a `$T`, from `$open` (`{`, or `,` inside a
/// record already open) and the first field's name, in this order; the
/// fields after `also` are written by the caller (or skipped), which
/// closes the object.
macro_rules! fields {
    ($w:ident, $v:ident, $open:literal, $T:ident { $first:ident $(, $f:ident)* $(,)? }
     $(also $($x:ident),*)?) => {
        let $T { $first, $($f,)* $($($x: _,)*)? } = $v;
        $w.raw(concat!($open, "\"", stringify!($first), "\":").as_bytes());
        $first.put($w)?;
        $(
            key!($w, $f);
            $f.put($w)?;
        )*
    };
}

/// A struct every field of which is written.
macro_rules! put_struct {
    ($($T:ident { $($f:ident),* $(,)? })*) => {
        $(impl Put for $T {
            fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
                let v = self;
                fields!(w, v, "{", $T { $($f),* });
                w.raw(b"}");
                Ok(())
            }
        })*
    };
}

put_struct! {
    DirCounts {
        packets,
        bytes,
        payload_bytes,
        keep_limit,
        vantage_copies,
        snaplen_hidden_bytes,
        encrypted_from_start,
    }
    EndedBy {
        id,
        party,
        waited_s,
        retransmissions,
        code,
        code_name,
        alert,
        alert_name,
        icmp_type,
        icmp_code,
        text,
    }
    CauseReport {
        id,
        confidence,
        basis,
        grounds,
        summary,
        remediation,
        client_messages,
    }
    ClientMessageReport {
        message,
        disconnect_reason,
        disconnect_reason_name,
        extended_reason,
        extended_reason_name,
        confidence,
        source,
    }
    EvidenceItem {
        frame,
        time_s,
        text,
        kind,
    }
    StepReached {
        step,
        from,
        certainty,
        frame,
        time_s,
    }
}

impl Put for LadderEvent {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let v = self;
        fields!(w, v, "{", LadderEvent {
            kind, from, to, frame, last_frame, count, time_s
        } also last_time_s, text);
        // Skipped when absent.
        if let Some(last_time_s) = &self.last_time_s {
            key!(w, last_time_s);
            last_time_s.put(w)?;
        }
        let text = &self.text;
        key!(w, text);
        text.put(w)?;
        w.raw(b"}");
        Ok(())
    }
}

/// `{"record":"connection","schema_version":1,"file":"<file>"` (no
/// closing brace).
fn record_head(out: &mut Vec<u8>, file: &str) {
    out.extend_from_slice(b"{\"record\":");
    string(out, RECORD_CONNECTION);
    out.extend_from_slice(b",\"schema_version\":");
    // Writing to a Vec cannot fail.
    let _ = CompactFormatter.write_u32(out, SCHEMA_VERSION);
    out.extend_from_slice(b",\"file\":");
    string(out, file);
}

/// Append the JSON Lines record of connection `c` of file `file`, without
/// its line feed. On an error `out` may hold part of it: the caller
/// truncates, and writes the record with serde.
pub fn connection_record(out: &mut Vec<u8>, file: &str, c: &ConnectionReport) -> Result<(), Error> {
    with_writer(out, |w| {
        // The record's own keys (`RecordHead`), the same for each record
        // of a file, then the connection's.
        match w.fixed.as_deref_mut() {
            Some(fixed) => {
                let (of, head) = &mut fixed.record_head;
                if of != file {
                    of.clear();
                    of.push_str(file);
                    head.clear();
                    record_head(head, file);
                }
                w.out.extend_from_slice(head);
            }
            None => record_head(w.out, file),
        }
        fields!(w, c, ",", ConnectionReport {
            stream,
            client,
            server,
            roles,
            first_frame,
            last_frame,
            first_ts,
            last_ts,
        } also duration_s, to_server, to_client, outcome, phase, last_step,
            last_step_certainty, failed_step, what_happened, ended_by, ending_frame,
            cause, benign, evidence, caveats, negotiation, tls, certificates,
            client_certificates, client_data, server_data, credssp, nla, rdp_messages,
            events_dropped, display_filter, evidence_filter, steps, events, labels,
            decryption);
        // The duration's text kept: the time of the ending's evidence and
        // ladder event is most often the same float.
        let duration_s = c.duration_s;
        key!(w, duration_s);
        w.float_kept(duration_s)?;
        fields!(w, c, ",", ConnectionReport {
            to_server,
            to_client,
            outcome,
            phase,
            last_step,
            last_step_certainty,
            failed_step,
            what_happened,
            ended_by,
            ending_frame,
            cause,
            benign,
            evidence,
            caveats,
            negotiation,
            tls,
            certificates,
            client_certificates,
            client_data,
            server_data,
            credssp,
            nla,
            rdp_messages,
            events_dropped,
            display_filter,
            evidence_filter,
            steps,
            events,
        } also stream, client, server, roles, first_frame, last_frame, first_ts, last_ts,
            duration_s, labels, decryption);
        // `labels` is not serialised; `decryption` only when present.
        if let Some(decryption) = &c.decryption {
            key!(w, decryption);
            decryption.put(w)?;
        }
        w.raw(b"}");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record as serde_json writes it (`#[serde(flatten)]` of the
    /// connection into the record's keys).
    fn by_serde(file: &str, c: &ConnectionReport) -> String {
        serde_json::to_string(&crate::report::records::connection_record(file, c)).unwrap()
    }

    fn by_hand(file: &str, c: &ConnectionReport) -> String {
        let mut out = b"kept".to_vec();
        connection_record(&mut out, file, c).unwrap();
        String::from_utf8(out.split_off(4)).unwrap()
    }

    #[test]
    fn every_lab_connection_is_written_as_serde_writes_it() {
        let reports = crate::report::lab_reports();
        assert!(reports.len() > 100, "{}", reports.len());
        for (i, c) in reports.iter().enumerate() {
            let file = if i % 2 == 0 {
                "a.pcap"
            } else {
                "dir/\"odd\"\n\u{1}é.pcap"
            };
            assert_eq!(by_hand(file, c), by_serde(file, c), "stream {}", c.stream);
        }
    }

    #[test]
    fn optional_fields_escapes_and_odd_numbers_as_serde_writes_them() {
        let mut reports = crate::report::lab_reports();
        let odd = [
            "",
            "plain",
            "\"quoted\" \\ back\\slash",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "é ü \u{2028} 😀 long text that runs past a word or two, then \"ends\"",
        ];
        for (i, c) in reports.iter_mut().enumerate() {
            let text = odd[i % odd.len()];
            c.what_happened = text.to_string();
            c.roles = Text::from(text.to_string());
            c.duration_s = [f64::NAN, f64::INFINITY, -0.0, 1e-9, 123456.789][i % 5];
            c.ending_frame = (i % 2 == 0).then_some(u64::MAX);
            c.caveats = vec![text.to_string(); i % 3];
            c.to_server.keep_limit = Some(text.to_string());
            c.ended_by.waited_s = Some(f64::NEG_INFINITY);
            c.ended_by.code_name = Some(text.to_string());
            for e in &mut c.events {
                e.last_time_s = Some(0.25);
                e.text = Text::from(text.to_string());
            }
            for e in &mut c.evidence {
                e.time_s = None;
                e.text = text.to_string();
            }
            if let Some(cause) = &mut c.cause {
                cause.summary = Text::from(text.to_string());
                for m in &mut cause.client_messages {
                    m.extended_reason = Some(u32::MAX);
                    m.extended_reason_name = Some(Text::from(text.to_string()));
                }
            }
            if i % 2 == 0 {
                c.decryption = Some(Decryption {
                    status: "decrypted_key_log".into(),
                    text: text.to_string(),
                    version: Some("TLS 1.2".into()),
                    cipher_suite: None,
                    to_server: DecryptedRecords {
                        decrypted: 3,
                        failed: 0,
                        plaintext_bytes: 1234,
                    },
                    to_client: DecryptedRecords {
                        decrypted: 0,
                        failed: 1,
                        plaintext_bytes: 0,
                    },
                });
            }
            assert_eq!(by_hand("f", c), by_serde("f", c), "stream {}", c.stream);
        }
    }
}
