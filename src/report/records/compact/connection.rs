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
use std::cell::RefCell;

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

/// `,"name":value` for each field `name`, a value of that name in scope.
macro_rules! put {
    ($w:ident, $($f:ident),* $(,)?) => {
        $(
            key!($w, $f);
            $f.put($w)?;
        )*
    };
}

/// [`put!`] through the thread's [`Kept`] value of the same name.
macro_rules! put_kept {
    ($w:ident, $($f:ident),* $(,)?) => {
        $(
            key!($w, $f);
            put_kept($w, $f, |k| &mut k.$f)?;
        )*
    };
}

/// Whether two values are written as the same JSON.
trait Same {
    fn same(&self, other: &Self) -> bool;
}

/// The derived equality, for values without floats (their texts are
/// equal when they are written the same, whether borrowed or owned).
macro_rules! same_by_eq {
    ($($t:ty),*) => {
        $(impl Same for $t {
            fn same(&self, other: &Self) -> bool {
                self == other
            }
        })*
    };
}

same_by_eq!(DirCounts);

impl Same for Text {
    /// The same text of the program at once, by its address (a remedy is
    /// a kilobyte), else by its bytes.
    fn same(&self, other: &Self) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
    }
}

impl<T: Same> Same for Option<T> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl<T: Same> Same for Vec<T> {
    fn same(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

impl Same for CauseReport {
    fn same(&self, other: &Self) -> bool {
        let CauseReport {
            id,
            confidence,
            basis,
            grounds,
            summary,
            remediation,
            client_messages,
        } = self;
        id.same(&other.id)
            && confidence.same(&other.confidence)
            && basis.same(&other.basis)
            && grounds.same(&other.grounds)
            && summary.same(&other.summary)
            && remediation.same(&other.remediation)
            && client_messages.same(&other.client_messages)
    }
}

impl Same for ClientMessageReport {
    fn same(&self, other: &Self) -> bool {
        let ClientMessageReport {
            message,
            disconnect_reason,
            disconnect_reason_name,
            extended_reason,
            extended_reason_name,
            confidence,
            source,
        } = self;
        message.same(&other.message)
            && *disconnect_reason == other.disconnect_reason
            && disconnect_reason_name.same(&other.disconnect_reason_name)
            && *extended_reason == other.extended_reason
            && extended_reason_name.same(&other.extended_reason_name)
            && confidence.same(&other.confidence)
            && source.same(&other.source)
    }
}

impl Same for EndedBy {
    /// The wait compared by its bits: `0.0 == -0.0`, written `0.0` and
    /// `-0.0`.
    fn same(&self, other: &Self) -> bool {
        let EndedBy {
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
        } = self;
        id.same(&other.id)
            && party.same(&other.party)
            && waited_s.map(f64::to_bits) == other.waited_s.map(f64::to_bits)
            && *retransmissions == other.retransmissions
            && *code == other.code
            && *code_name == other.code_name
            && *alert == other.alert
            && *alert_name == other.alert_name
            && *icmp_type == other.icmp_type
            && *icmp_code == other.icmp_code
            && text.same(&other.text)
    }
}

/// The last value of a field written on this thread and its JSON. Most
/// records of a capture repeat the one before in a few fields: the cause
/// (its remedy, summary and client messages: a kilobyte or two and some
/// thirty fields), how the connection ended, its counts of packets. A
/// value the same as the last ([`Same`]) is copied whole from the JSON
/// written for it; writing the others leaves no state the next records
/// depend on (no float kept, see `Writer::float_kept`).
struct Kept<T> {
    last: Option<T>,
    json: Vec<u8>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            last: None,
            json: Vec::new(),
        }
    }
}

impl<T: Put + Same + Clone> Kept<T> {
    fn put(&mut self, v: &T, w: &mut Writer<'_>) -> Result<(), Error> {
        if self.last.as_ref().is_some_and(|last| last.same(v)) {
            w.raw(&self.json);
            return Ok(());
        }
        let at = w.out.len();
        v.put(w)?;
        self.json.clear();
        self.json
            .extend_from_slice(w.out.get(at..).unwrap_or_default());
        match &mut self.last {
            Some(last) => last.clone_from(v),
            None => self.last = Some(v.clone()),
        }
        Ok(())
    }
}

/// The fields of a connection record whose last value is kept.
#[derive(Default)]
struct Repeated {
    to_server: Kept<DirCounts>,
    to_client: Kept<DirCounts>,
    ended_by: Kept<EndedBy>,
    cause: Kept<CauseReport>,
}

thread_local! {
    static KEPT: RefCell<Repeated> = RefCell::new(Repeated::default());
}

/// `v` written through the thread's [`Kept`] value that `pick` picks.
fn put_kept<T: Put + Same + Clone>(
    w: &mut Writer<'_>,
    v: &T,
    pick: fn(&mut Repeated) -> &mut Kept<T>,
) -> Result<(), Error> {
    KEPT.with(|kept| match kept.try_borrow_mut() {
        Ok(mut kept) => pick(&mut kept).put(v, w),
        Err(_) => v.put(w),
    })
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
        // Every field named (a field added to the report fails to
        // compile here until it is written), and written in the order of
        // its declaration.
        let ConnectionReport {
            stream,
            client,
            server,
            roles,
            first_frame,
            last_frame,
            first_ts,
            last_ts,
            duration_s,
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
            labels: _,
            decryption,
        } = c;
        put!(
            w,
            stream,
            client,
            server,
            roles,
            first_frame,
            last_frame,
            first_ts,
            last_ts
        );
        // The duration's text kept: the time of the ending's evidence and
        // ladder event is most often the same float.
        key!(w, duration_s);
        w.float_kept(*duration_s)?;
        put_kept!(w, to_server, to_client);
        put!(
            w,
            outcome,
            phase,
            last_step,
            last_step_certainty,
            failed_step,
            what_happened
        );
        put_kept!(w, ended_by);
        put!(w, ending_frame);
        key!(w, cause);
        match cause {
            Some(cause) => put_kept(w, cause, |k| &mut k.cause)?,
            None => w.raw(b"null"),
        }
        put!(
            w,
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
        );
        // `labels` is not serialised; `decryption` only when present.
        if let Some(decryption) = decryption {
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

    /// Each record written right after others that differ from it in
    /// one value kept from record to record (the cause, how the
    /// connection ended, the counts; a float by its sign alone), or not
    /// at all: each as serde writes it.
    #[test]
    fn values_kept_from_the_record_before_are_copied_only_when_the_same() {
        type Change = fn(&mut ConnectionReport);
        let changes: [Change; 12] = [
            |_| {},
            |c| c.cause = None,
            |c| {
                if let Some(cause) = &mut c.cause {
                    cause.summary = Text::from(format!("{}.", cause.summary));
                }
            },
            |c| {
                if let Some(m) = c.cause.as_mut().and_then(|x| x.client_messages.first_mut()) {
                    m.extended_reason = Some(m.extended_reason.map_or(7, |r| r ^ 1));
                }
            },
            |c| {
                if let Some(cause) = &mut c.cause {
                    cause.client_messages.pop();
                }
            },
            |c| c.to_server.packets += 1,
            |c| std::mem::swap(&mut c.to_server, &mut c.to_client),
            |c| c.to_client.keep_limit = Some("odd \"limit\"".to_string()),
            |c| c.ended_by.waited_s = Some(0.0),
            |c| c.ended_by.waited_s = Some(-0.0),
            |c| c.ended_by.waited_s = Some(f64::NAN),
            |c| c.ended_by.text = Text::from(format!("{} again", c.ended_by.text)),
        ];
        let reports = crate::report::lab_reports();
        for (i, c) in reports.iter().enumerate() {
            let file = "kept.pcap";
            for (j, change) in changes.iter().enumerate() {
                let mut other = c.clone();
                change(&mut other);
                for r in [c, &other, &other, c, c] {
                    assert_eq!(
                        by_hand(file, r),
                        by_serde(file, r),
                        "stream {} change {j}",
                        c.stream
                    );
                }
            }
            // And the next report right after one changed.
            let mut other = c.clone();
            changes[i % changes.len()](&mut other);
            assert_eq!(
                by_hand(file, &other),
                by_serde(file, &other),
                "stream {}",
                c.stream
            );
        }
    }

    /// Texts, borrowed from the program or owned, the same or not, at
    /// the same address or not: the same exactly when equal.
    #[test]
    fn texts_are_the_same_when_equal() {
        static WORDS: [&str; 4] = ["", "port", "port 3389", "port 3389"];
        let mut texts: Vec<Text> = WORDS.iter().map(|&w| Text::fixed(w)).collect();
        texts.extend(WORDS.iter().map(|w| Text::from(w.to_string())));
        // A text that starts where another does, shorter.
        texts.push(Text::fixed(WORDS[2].get(..4).unwrap_or_default()));
        for a in &texts {
            for b in &texts {
                assert_eq!(a.same(b), a == b, "{a:?} {b:?}");
                assert_eq!(Some(a.clone()).same(&Some(b.clone())), a == b);
                assert_eq!(vec![a.clone()].same(&vec![b.clone()]), a == b);
            }
            assert!(!Some(a.clone()).same(&None));
            assert!(!vec![a.clone()].same(&vec![a.clone(), a.clone()]));
        }
        let reports = crate::report::lab_reports();
        for a in reports.iter().step_by(7) {
            for b in reports.iter().step_by(5) {
                assert_eq!(a.cause.same(&b.cause), a.cause == b.cause);
                assert_eq!(a.ended_by.same(&b.ended_by), a.ended_by == b.ended_by);
            }
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
