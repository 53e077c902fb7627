//! Compact JSON, byte for byte as `serde_json::to_writer` writes it, for
//! the records written by the million: a connection record is 3.5 KB,
//! most of it long texts that need no escaping (a remedy, a summary, the
//! source of a client message), which serde_json looks at one byte at a
//! time. Here a string is looked at eight bytes at a time and copied
//! whole when none needs an escape; numbers, escapes and the rest are
//! written by serde_json's own [`CompactFormatter`], so the output cannot
//! drift from serde_json's.
//!
//! What a record never holds (a map key that is neither a string nor an
//! integer, serde_json's raw values) is refused with an error, and the
//! caller writes that record with serde_json instead.

use serde::ser::{self, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::fmt;

/// Why a value was not written (the caller then uses serde_json).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Append `v` as compact JSON to `out`. On an error, `out` may hold part
/// of it: the caller truncates.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    v.serialize(&mut Writer { out })
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// What a byte becomes in a JSON string (serde_json's table): None for
/// itself, else its escape.
fn escape_of(b: u8) -> Option<CharEscape> {
    Some(match b {
        b'"' => CharEscape::Quote,
        b'\\' => CharEscape::ReverseSolidus,
        0x08 => CharEscape::Backspace,
        0x0c => CharEscape::FormFeed,
        b'\n' => CharEscape::LineFeed,
        b'\r' => CharEscape::CarriageReturn,
        b'\t' => CharEscape::Tab,
        0..=0x1f => CharEscape::AsciiControl(b),
        _ => return None,
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes of `w` is zero (exact for "any").
fn has_zero(w: u64) -> bool {
    w.wrapping_sub(ONES) & !w & HIGHS != 0
}

/// Whether any of the eight bytes of `w` needs an escape: a control
/// character (below 0x20), `"` or `\`.
fn needs_escape(w: u64) -> bool {
    // Bytes below 0x20: the subtraction borrows into the high bit of a
    // byte that was below 0x20 and had it clear (exact for "any").
    let below = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
    below || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// Whether a byte needs an escape, by byte.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    t
};

/// If `bytes[at]` needs an escape: copy the run before it, then its escape.
fn escape_at(out: &mut Vec<u8>, bytes: &[u8], run: &mut usize, at: usize) {
    let b = bytes.get(at).copied().unwrap_or(b' ');
    if !ESCAPED[usize::from(b)] {
        return;
    }
    if let Some(e) = escape_of(b) {
        out.extend_from_slice(bytes.get(*run..at).unwrap_or(&[]));
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_char_escape(out, e);
        *run = at + 1;
    }
}

/// A JSON string: quoted, escaped as serde_json escapes. Eight bytes are
/// looked at together; only a word holding a byte to escape is looked at
/// byte by byte, and the runs between escapes are copied whole.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for c in &mut words {
        let w: [u8; 8] = c.try_into().unwrap_or([0; 8]);
        if needs_escape(u64::from_le_bytes(w)) {
            for i in at..at + 8 {
                escape_at(out, bytes, &mut run, i);
            }
        }
        at += 8;
    }
    for i in at..bytes.len() {
        escape_at(out, bytes, &mut run, i);
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or(&[]));
    out.push(b'"');
}

/// A sequence, map or struct under way: whether an element was written,
/// and what closes it.
pub struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }

    fn end(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }

    /// A map key: a string as it is, an integer quoted (as serde_json);
    /// anything else is refused.
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        let at = self.w.out.len();
        key.serialize(&mut *self.w)?;
        let written = self.w.out.get(at..).unwrap_or(&[]);
        if written.first() == Some(&b'"') {
            return Ok(());
        }
        if !written.is_empty() && written.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
            self.w.out.insert(at, b'"');
            self.w.out.push(b'"');
            return Ok(());
        }
        Err(Error(
            "a map key that is neither a string nor an integer".into(),
        ))
    }
}

macro_rules! number {
    ($($f:ident $t:ty => $w:ident;)*) => {
        $(fn $f(self, v: $t) -> Result<(), Error> {
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.$w(self.out, v);
            Ok(())
        })*
    };
}

impl<'a> Writer<'a> {
    /// A float as serde_json writes it: `null` when it is not finite.
    fn float(
        &mut self,
        finite: bool,
        write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        if finite {
            let _ = write(self.out);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    /// `{"variant":` and the opening of its contents (`[` or `{`), closed
    /// by `close`: serde_json's externally tagged form of an enum variant
    /// with fields.
    fn variant<'w>(
        &'w mut self,
        variant: &'static str,
        open: &[u8],
        close: &'static [u8],
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.extend_from_slice(open);
        Ok(Compound {
            w: self,
            first: true,
            close,
        })
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    number! {
        serialize_i8 i8 => write_i8;
        serialize_i16 i16 => write_i16;
        serialize_i32 i32 => write_i32;
        serialize_i64 i64 => write_i64;
        serialize_i128 i128 => write_i128;
        serialize_u8 u8 => write_u8;
        serialize_u16 u16 => write_u16;
        serialize_u32 u32 => write_u32;
        serialize_u64 u64 => write_u64;
        serialize_u128 u128 => write_u128;
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v.is_finite(), |out| CompactFormatter.write_f32(out, v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v.is_finite(), |out| CompactFormatter.write_f64(out, v))
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        // serde_json writes its raw values verbatim under this name.
        if name.starts_with("$serde_json") {
            return Err(Error(format!("{name} is serde_json's own")));
        }
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.push(b':');
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: b"]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.variant(variant, b":[", b"]}")
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: b"}",
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.variant(variant, b":{", b"}}")
    }
}

macro_rules! elements {
    ($($trait:ident :: $f:ident;)*) => {
        $(impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $f<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.comma();
                v.serialize(&mut *self.w)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        })*
    };
}

elements! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.w.out.push(b':');
        v.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

macro_rules! fields {
    ($($trait:ident;)*) => {
        $(impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), Error> {
                self.comma();
                string(self.w.out, key);
                self.w.out.push(b':');
                v.serialize(&mut *self.w)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        })*
    };
}

fields! {
    SerializeStruct;
    SerializeStructVariant;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn same<T: Serialize>(v: &T) {
        let mut got = Vec::new();
        write(&mut got, v).unwrap();
        let want = serde_json::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }

    #[derive(serde::Serialize)]
    enum Kind {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<f64>, b: Vec<bool> },
    }

    #[derive(serde::Serialize)]
    struct Flat {
        x: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        #[serde(flatten)]
        rest: BTreeMap<String, i64>,
    }

    #[test]
    fn every_kind_of_value_as_serde_json_writes_it() {
        same(&(
            true,
            false,
            -1i8,
            i64::MIN,
            u64::MAX,
            i128::MIN,
            u128::MAX,
            0.1f32,
        ));
        same(&(
            2e-5f64,
            1e300f64,
            -0.0f64,
            f64::NAN,
            f64::INFINITY,
            0.5f32,
            f32::NEG_INFINITY,
        ));
        same(&('x', 'é', '\u{1}', "", (), None::<u8>, Some("s")));
        same(&vec![Kind::Unit, Kind::New(7), Kind::Tuple(-3, "t".into())]);
        same(&Kind::Struct {
            a: Some(1.5),
            b: vec![true, false],
        });
        same(&Kind::Struct { a: None, b: vec![] });
        same(&serde_bytes_like());
        let mut keys = BTreeMap::new();
        keys.insert(-5i32, "a");
        keys.insert(12, "b");
        same(&keys);
        let mut rest = BTreeMap::new();
        rest.insert("k\"ey".to_string(), 3);
        same(&Flat {
            x: 1,
            skipped: None,
            rest,
        });
        same(&Vec::<u8>::new());
        same(&BTreeMap::<String, u8>::new());
    }

    /// Bytes serialised as serde serialises them (a sequence of numbers).
    fn serde_bytes_like() -> impl Serialize {
        struct B;
        impl Serialize for B {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&[0, 1, 255])
            }
        }
        B
    }

    #[test]
    fn a_key_that_is_no_string_nor_integer_is_refused() {
        let mut m = BTreeMap::new();
        m.insert(true, 1);
        assert!(write(&mut Vec::new(), &m).is_err());
    }

    #[test]
    fn every_character_that_needs_an_escape_is_escaped_in_every_position() {
        for b in (0u8..0x20).chain([b'"', b'\\', 0x7f, b'/', b' ']) {
            for at in 0..20 {
                let mut s = "a".repeat(20);
                s.insert(at, b as char);
                same(&s);
            }
        }
        same(&"é".repeat(9));
        same(&"remediation: 'Remote Desktop - User Mode (TCP-In)' HKLM\\SYSTEM".repeat(3));
    }

    proptest! {
        #[test]
        fn any_string_as_serde_json_writes_it(s in any::<String>()) {
            same(&s);
        }

        #[test]
        fn any_ascii_string_as_serde_json_writes_it(s in "[\\x00-\\x7f]{0,64}") {
            same(&s);
        }
    }
}
