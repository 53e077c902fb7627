//! Compact JSON, byte for byte as `serde_json::to_writer` writes it, for
//! the records written by the million: a connection record is 3.5 KB,
//! most of it long texts that need no escaping (a remedy, a summary, the
//! source of a client message), which serde_json looks at one byte at a
//! time. Here a string is looked at eight bytes at a time and copied
//! whole between escapes, and a text borrowed from the program (a field
//! name, a [`Text`] of the fixed vocabulary) is escaped once per thread
//! and copied from then on ([`FixedTexts`] by address, [`Structs`] by
//! struct and position); numbers and escapes are
//! written by serde_json's own [`CompactFormatter`], so the output cannot
//! drift from serde_json's.
//!
//! What a record never holds (a map key that is neither a string nor an
//! integer, serde_json's raw values) is refused with an error, and the
//! caller writes that record with serde_json instead.
//!
//! [`Text`]: crate::report::model::Text

mod connection;

pub use connection::connection_record;

use crate::common::extend_decimal;
use crate::report::model::FIXED_TEXT;
use serde::ser::{self, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::cell::RefCell;
use std::fmt;

/// Why a value was not written (the caller then uses serde_json, whose
/// error says more). A static text, not a string: every call of the
/// serialiser returns a `Result<(), Error>`, which then fits in two
/// registers.
#[derive(Debug)]
pub struct Error(&'static str);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error("a value refused to serialise")
    }
}

thread_local! {
    static FIXED: RefCell<Fixed> = const {
        RefCell::new(Fixed {
            values: FixedTexts::new(),
            structs: Structs::new(),
            record_head: (String::new(), Vec::new()),
            last_float: LastFloat { bits: 0, len: 0, text: [0; 32] },
        })
    };
}

/// A thread's escaped fixed texts: values, and the field names of
/// structs.
struct Fixed {
    values: FixedTexts,
    structs: Structs,
    /// The file name and the keys a connection record of that file
    /// starts with (`connection::connection_record`).
    record_head: (String, Vec<u8>),
    /// A float other than zero and its text (`Writer::float_kept`): a
    /// record writes the time of the packet that ended the connection
    /// three times, as its duration (kept), the evidence's and the ladder
    /// event's time (copied).
    last_float: LastFloat,
}

/// A float (its bits) and its text, `len` bytes of `text` (none yet when
/// 0).
struct LastFloat {
    bits: u64,
    len: usize,
    text: [u8; 32],
}

/// `,"name":`, or `"name":` for the first field.
fn field_name(out: &mut Vec<u8>, name: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

/// Append `v` as compact JSON to `out`. On an error, `out` may hold part
/// of it: the caller truncates.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    FIXED.with(|fixed| {
        // A value whose serialisation writes another record (none does)
        // finds the texts in use and escapes its own.
        let mut cache = fixed.try_borrow_mut().ok();
        v.serialize(&mut Writer {
            out,
            fixed: cache.as_deref_mut(),
            next_is_fixed: false,
        })
    })
}

/// Append what `f` writes with a writer that shares this thread's
/// escaped fixed texts (see [`write`]).
fn with_writer<R>(out: &mut Vec<u8>, f: impl FnOnce(&mut Writer<'_>) -> R) -> R {
    FIXED.with(|fixed| {
        let mut cache = fixed.try_borrow_mut().ok();
        f(&mut Writer {
            out,
            fixed: cache.as_deref_mut(),
            next_is_fixed: false,
        })
    })
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// This thread's escaped fixed texts.
    fixed: Option<&'a mut Fixed>,
    /// The string about to be written is borrowed from the program (the
    /// value of a [`FIXED_TEXT`] newtype).
    next_is_fixed: bool,
}

/// The escaped form (a JSON string) of texts borrowed from the
/// program, found by their address and length: a `&'static str` is never freed nor
/// changed, so where it lies names what it holds for the whole run. The
/// texts are a fixed vocabulary (field names, ids, causes' summaries and
/// remedies: about a hundred in a run of refused connections); past
/// [`MAX_TEXTS`] texts or [`MAX_BYTES`] bytes the others are escaped each
/// time.
struct FixedTexts {
    /// Open addressing, probed linearly from the key's hash; made when
    /// first used.
    slots: Option<Box<[Slot]>>,
    texts: usize,
    bytes: usize,
}

/// One text: its address (0: an empty slot, as no `&str` lies at 0),
/// length and escaped form (`escaped` bytes of `padded`).
#[derive(Clone, Default)]
struct Slot {
    addr: usize,
    len: usize,
    escaped: usize,
    padded: Box<[u8]>,
}

/// Bytes kept after the start of each escaped text, so that a short one is copied as a block of known length (a
/// few moves) rather than by a call to `memcpy`: most texts are field
/// names and ids.
const PAD: usize = 32;

/// Append the first `n` bytes of `padded`, which holds at least [`PAD`].
fn copy_padded(out: &mut Vec<u8>, padded: &[u8], n: usize) {
    let end = out.len() + n;
    match padded.get(..PAD) {
        Some(block) if n <= PAD => {
            out.extend_from_slice(block);
            out.truncate(end);
        }
        _ => out.extend_from_slice(padded.get(..n).unwrap_or_default()),
    }
}

/// Slots of a thread's table (a power of two): 80 KiB.
const SLOTS: usize = 2048;
/// Texts kept at most, so that the table stays at least half empty and a
/// probe ends soon.
const MAX_TEXTS: usize = SLOTS / 2;
/// Escaped bytes kept at most.
const MAX_BYTES: usize = 1 << 20;

impl FixedTexts {
    const fn new() -> Self {
        FixedTexts {
            slots: None,
            texts: 0,
            bytes: 0,
        }
    }

    /// Append `s`, a text borrowed from the program, as a JSON string.
    #[inline(always)]
    fn write(&mut self, out: &mut Vec<u8>, s: &str) {
        match self.find(s) {
            Ok(slot) => copy_padded(out, &slot.padded, slot.escaped),
            Err(vacant) => self.add(out, s, vacant),
        }
    }

    /// The slot of `s`, else the slot where it would go (None before the
    /// table is made).
    #[inline]
    fn find(&self, s: &str) -> Result<&Slot, Option<usize>> {
        let (addr, len) = (s.as_ptr() as usize, s.len());
        let Some(slots) = self.slots.as_deref() else {
            return Err(None);
        };
        let mut at = slot_of(addr, len);
        // The table is never full: some slot is empty.
        while let Some(slot) = slots.get(at) {
            if slot.addr == addr && slot.len == len {
                return Ok(slot);
            }
            if slot.addr == 0 {
                break;
            }
            at = (at + 1) % SLOTS;
        }
        Err(Some(at))
    }

    /// [`FixedTexts::write`] escaping `s`, kept in `vacant` while under
    /// the bounds.
    #[cold]
    #[inline(never)]
    fn add(&mut self, out: &mut Vec<u8>, s: &str, vacant: Option<usize>) {
        let mut escaped = Vec::with_capacity(s.len() + 2);
        string(&mut escaped, s);
        out.extend_from_slice(&escaped);
        if self.texts >= MAX_TEXTS || self.bytes + escaped.len() > MAX_BYTES {
            return;
        }
        let at = vacant.unwrap_or_else(|| slot_of(s.as_ptr() as usize, s.len()));
        let slots = self
            .slots
            .get_or_insert_with(|| vec![Slot::default(); SLOTS].into());
        if let Some(slot) = slots.get_mut(at) {
            let n = escaped.len();
            escaped.resize(n.max(PAD + 1), 0);
            *slot = Slot {
                addr: s.as_ptr() as usize,
                len: s.len(),
                escaped: n,
                padded: escaped.into(),
            };
            self.texts += 1;
            self.bytes += n;
        }
    }
}

/// Where a text's probe starts (Fibonacci hashing of its address and
/// length).
fn slot_of(addr: usize, len: usize) -> usize {
    let key = (addr as u64) ^ (len as u64).rotate_left(32);
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

/// The field names of the structs written on a thread, kept by struct and
/// position: serde's derive writes a struct's fields in the order they
/// are declared, so the name of the field about to be written is most
/// often the one after the last (a field skipped when empty or a struct
/// name shared by two structs costs a search, never a wrong name: each
/// name is checked against the address and length of the key given).
struct Structs {
    /// Open addressing on the struct name's address and length, probed
    /// linearly: 1 + the index in `list`, 0 for an empty slot.
    slots: [u8; STRUCT_SLOTS],
    list: Vec<Names>,
}

/// Slots of [`Structs`] (a power of two); at most half are used.
const STRUCT_SLOTS: usize = 256;
/// Field names kept at most per struct name.
const MAX_FIELDS: usize = 256;
/// Bytes of an escaped field name kept inline, with its comma and colon.
const NAME_BYTES: usize = 32;

/// One struct's field names in the order last written.
struct Names {
    addr: usize,
    len: usize,
    fields: Vec<FieldName>,
}

/// A field name, as `,"name":` in `bytes` (`escaped` of them, 0 when the
/// name is too long to be kept: it is escaped each time).
#[derive(Clone, Copy)]
struct FieldName {
    addr: usize,
    len: usize,
    escaped: usize,
    bytes: [u8; NAME_BYTES + 1],
}

impl FieldName {
    fn of(name: &'static str) -> Self {
        let mut escaped = Vec::with_capacity(name.len() + 4);
        field_name(&mut escaped, name, false);
        let mut bytes = [0; NAME_BYTES + 1];
        let kept = match bytes.get_mut(..escaped.len()) {
            Some(to) if escaped.len() <= NAME_BYTES => {
                to.copy_from_slice(&escaped);
                escaped.len()
            }
            _ => 0,
        };
        FieldName {
            addr: name.as_ptr() as usize,
            len: name.len(),
            escaped: kept,
            bytes,
        }
    }

    /// Append the name, without its comma for the first field.
    #[inline(always)]
    fn write(&self, out: &mut Vec<u8>, name: &str, first: bool) {
        let skip = usize::from(first);
        match self
            .bytes
            .get(skip..)
            .and_then(|b| b.first_chunk::<NAME_BYTES>())
        {
            Some(block) if self.escaped > 0 => {
                // A block of known length (a few moves), then the
                // padding after the name dropped.
                let end = out.len() + self.escaped - skip;
                out.extend_from_slice(block);
                out.truncate(end);
            }
            _ => field_name(out, name, first),
        }
    }
}

impl Structs {
    const fn new() -> Self {
        Structs {
            slots: [0; STRUCT_SLOTS],
            list: Vec::new(),
        }
    }

    /// The index of `name`'s field names, made when first met (None past
    /// the table's bound).
    #[inline]
    fn find(&mut self, name: &'static str) -> Option<usize> {
        let (addr, len) = (name.as_ptr() as usize, name.len());
        let mut at = slot_of(addr, len) % STRUCT_SLOTS;
        loop {
            let index = usize::from(*self.slots.get(at)?).checked_sub(1);
            match index.and_then(|i| self.list.get(i).map(|n| (i, n))) {
                Some((i, n)) if n.addr == addr && n.len == len => return Some(i),
                Some(_) => at = (at + 1) % STRUCT_SLOTS,
                None => return self.add(name, at),
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn add(&mut self, name: &'static str, slot: usize) -> Option<usize> {
        let index = self.list.len();
        let mark = u8::try_from(index + 1).ok()?;
        if index >= STRUCT_SLOTS / 2 {
            return None;
        }
        *self.slots.get_mut(slot)? = mark;
        self.list.push(Names {
            addr: name.as_ptr() as usize,
            len: name.len(),
            fields: Vec::new(),
        });
        Some(index)
    }

    /// Append field `name` of struct `names`, expected at position `*at`
    /// (moved past it).
    #[inline(always)]
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        names: usize,
        at: &mut usize,
        name: &'static str,
        first: bool,
    ) {
        let Some(names) = self.list.get_mut(names) else {
            return field_name(out, name, first);
        };
        let (addr, len) = (name.as_ptr() as usize, name.len());
        match names.fields.get(*at) {
            Some(f) if f.addr == addr && f.len == len => {
                *at += 1;
                f.write(out, name, first);
            }
            _ => names.write_elsewhere(out, at, name, first),
        }
    }
}

impl Names {
    /// [`Structs::write`] for a name not at the expected position: found
    /// elsewhere, or learnt there.
    #[cold]
    #[inline(never)]
    fn write_elsewhere(
        &mut self,
        out: &mut Vec<u8>,
        at: &mut usize,
        name: &'static str,
        first: bool,
    ) {
        let (addr, len) = (name.as_ptr() as usize, name.len());
        let found = self
            .fields
            .iter()
            .position(|f| f.addr == addr && f.len == len);
        let pos = match found {
            Some(pos) => pos,
            None if self.fields.len() < MAX_FIELDS => {
                let pos = (*at).min(self.fields.len());
                self.fields.insert(pos, FieldName::of(name));
                pos
            }
            None => return field_name(out, name, first),
        };
        *at = pos + 1;
        match self.fields.get(pos) {
            Some(f) => f.write(out, name, first),
            None => field_name(out, name, first),
        }
    }
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

/// The high bit of each zero byte of `w`: exact for the lowest such
/// byte (a borrow may mark bytes above it).
fn zeros(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// The high bit of each byte of `w` that needs an escape (a control
/// character, below 0x20, `"` or `\`): exact for the lowest such byte,
/// the first in the string.
fn escapes(w: u64) -> u64 {
    // A byte below 0x20 with its high bit clear borrows into it; bytes
    // below the first such byte neither borrow nor set it.
    let below = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    below | zeros(w ^ (ONES * u64::from(b'"'))) | zeros(w ^ (ONES * u64::from(b'\\')))
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

/// Where the first byte of `bytes` that needs an escape lies: eight
/// bytes looked at together, the last few one by one.
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        let marks = escapes(w);
        if marks != 0 {
            // Little-endian: the lowest mark is the first byte.
            return Some(at + marks.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    // The last eight bytes as one word when there are eight: the bytes
    // before the tail were looked at and need no escape, so they neither
    // mark nor borrow, and the lowest mark is the tail's first escape.
    if let Some(last) = bytes.last_chunk::<8>() {
        let marks = escapes(u64::from_le_bytes(*last));
        return (marks != 0).then(|| bytes.len() - 8 + marks.trailing_zeros() as usize / 8);
    }
    tail.iter()
        .position(|&b| ESCAPED[usize::from(b)])
        .map(|i| at + i)
}

/// A JSON string: quoted, escaped as serde_json escapes, the runs between
/// escapes copied whole.
fn string(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    while let Some(at) = first_escape(rest) {
        let (run, from) = rest.split_at(at);
        out.extend_from_slice(run);
        let Some((&b, after)) = from.split_first() else {
            break;
        };
        if let Some(e) = escape_of(b) {
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.write_char_escape(out, e);
        }
        rest = after;
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// A sequence, map or struct under way: whether an element was written,
/// and what closes it.
pub struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    close: &'static [u8],
    /// A struct's field names in the thread's [`Structs`], and the
    /// position of the next field.
    names: Option<usize>,
    at: usize,
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
        Err(Error("a map key that is neither a string nor an integer"))
    }
}

macro_rules! number {
    ($($f:ident $t:ty => $w:ident;)*) => {
        $(#[inline]
        fn $f(self, v: $t) -> Result<(), Error> {
            match u8::try_from(v) {
                // One digit, the most common number of a record (counts,
                // flags): no formatter needed.
                Ok(digit @ 0..=9) => self.out.push(b'0' + digit),
                _ => {
                    // Writing to a Vec cannot fail.
                    let _ = CompactFormatter.$w(self.out, v);
                }
            }
            Ok(())
        })*
    };
}

/// The unsigned numbers of a record (frames, counts, sizes, codes): the
/// digits as `Display` (and serde_json's itoa) writes them, stored as one
/// word ([`extend_decimal`]) rather than copied by a call to `memcpy`.
macro_rules! unsigned {
    ($($f:ident $t:ty;)*) => {
        $(#[inline]
        fn $f(self, v: $t) -> Result<(), Error> {
            match u8::try_from(v) {
                // One digit, the most common number of a record (counts,
                // flags): a byte.
                Ok(digit @ 0..=9) => self.out.push(b'0' + digit),
                _ => extend_decimal(self.out, u64::from(v)),
            }
            Ok(())
        })*
    };
}

impl<'a> Writer<'a> {
    /// A text borrowed from the program: a field or variant name, or a
    /// fixed [`crate::report::model::Text`].
    #[inline(always)]
    fn fixed_str(&mut self, s: &str) {
        match self.fixed.as_deref_mut() {
            Some(fixed) => fixed.values.write(self.out, s),
            None => string(self.out, s),
        }
    }

    /// A compound value opened by `open`, closed by `close`.
    fn compound<'w>(
        &'w mut self,
        open: &[u8],
        close: &'static [u8],
        names: Option<usize>,
    ) -> Compound<'w, 'a> {
        self.out.extend_from_slice(open);
        Compound {
            w: self,
            first: true,
            close,
            names,
            at: 0,
        }
    }

    /// Where the field names of struct (or struct variant) `name` are
    /// kept.
    fn struct_names(&mut self, name: &'static str) -> Option<usize> {
        self.fixed.as_deref_mut()?.structs.find(name)
    }

    /// A float as serde_json writes it (see `serialize_f64`), its text
    /// then kept as the thread's last float: the floats written after it
    /// that equal it are copied.
    fn float_kept(&mut self, v: f64) -> Result<(), Error> {
        let at = self.out.len();
        let kept = self
            .fixed
            .as_deref()
            .is_some_and(|f| f.last_float.bits == v.to_bits() && f.last_float.len > 0);
        ser::Serializer::serialize_f64(&mut *self, v)?;
        let Writer { out, fixed, .. } = &mut *self;
        let (Some(fixed), Some(text), false) = (fixed.as_deref_mut(), out.get(at..), kept) else {
            return Ok(());
        };
        let last = &mut fixed.last_float;
        match last.text.get_mut(..text.len()) {
            Some(to) if v.is_finite() && v != 0.0 => {
                to.copy_from_slice(text);
                last.bits = v.to_bits();
                last.len = text.len();
            }
            _ => {}
        }
        Ok(())
    }

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
        names: Option<usize>,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        self.fixed_str(variant);
        Ok(self.compound(open, close, names))
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
        serialize_u128 u128 => write_u128;
    }

    unsigned! {
        serialize_u8 u8;
        serialize_u16 u16;
        serialize_u32 u32;
        serialize_u64 u64;
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v.is_finite(), |out| CompactFormatter.write_f32(out, v))
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v == 0.0 {
            // The most common float of a record (the time of a
            // connection's first packet), as serde_json writes it.
            let zero: &[u8] = if v.is_sign_negative() {
                b"-0.0"
            } else {
                b"0.0"
            };
            self.out.extend_from_slice(zero);
            return Ok(());
        }
        let Writer { out, fixed, .. } = &mut *self;
        let Some(last) = fixed.as_deref_mut().map(|f| &mut f.last_float) else {
            return self.float(v.is_finite(), |out| CompactFormatter.write_f64(out, v));
        };
        if !v.is_finite() {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        if last.bits == v.to_bits() && last.len > 0 {
            // A block of known length, then what follows the text dropped.
            let end = out.len() + last.len;
            out.extend_from_slice(&last.text);
            out.truncate(end);
            return Ok(());
        }
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_f64(out, v);
        Ok(())
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if std::mem::take(&mut self.next_is_fixed) {
            self.fixed_str(v);
        } else {
            string(self.out, v);
        }
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

    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.fixed_str(variant);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if name == FIXED_TEXT {
            // Only `Text` uses the name, for a `&'static str`.
            self.next_is_fixed = true;
            let written = v.serialize(&mut *self);
            self.next_is_fixed = false;
            return written;
        }
        // serde_json writes its raw values verbatim under this name.
        if name.starts_with("$serde_json") {
            return Err(Error("a raw value of serde_json"));
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
        self.fixed_str(variant);
        self.out.push(b':');
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.compound(b"[", b"]", None))
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
        self.variant(variant, b":[", b"]}", None)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.compound(b"{", b"}", None))
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'w, 'a>, Error> {
        let names = self.struct_names(name);
        Ok(self.compound(b"{", b"}", names))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        // Keyed by the variant: the enum's name is every variant's.
        let names = self.struct_names(variant);
        self.variant(variant, b":{", b"}}", names)
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
            #[inline(always)]
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), Error> {
                let first = std::mem::replace(&mut self.first, false);
                match (self.names, self.w.fixed.as_deref_mut()) {
                    (Some(names), Some(fixed)) => {
                        fixed.structs.write(self.w.out, names, &mut self.at, key, first)
                    }
                    _ => field_name(self.w.out, key, first),
                }
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
    use crate::report::model::Text;
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

    /// Unsigned numbers of every type and length (the digits copied as a
    /// block), alone, in lists and as map keys: as serde_json writes them.
    #[test]
    fn unsigned_numbers_as_serde_json_writes_them() {
        let mut numbers = vec![0u64, 1, 9, 10, 99, 100, 255, 256, 65_535, 65_536, u64::MAX];
        let mut power = 10u64;
        while let Some(next) = power.checked_mul(10) {
            numbers.extend([power - 1, power, power + 1]);
            power = next;
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let n = crate::common::xorshift(&mut seed);
            numbers.push(n >> (n % 64));
        }
        for &n in &numbers {
            same(&n);
            same(&(n as u32));
            same(&(n as u16));
            same(&(n as u8));
            same(&Some(n));
        }
        same(&numbers);
        let small: Vec<u32> = numbers.iter().map(|&n| n as u32).collect();
        same(&small);
        let keyed: BTreeMap<u64, u8> = numbers.iter().map(|&n| (n, n as u8)).collect();
        same(&keyed);
    }

    /// Floats of every size and sign, each written once or several times
    /// in a row (the thread's last float kept and copied), in lists and
    /// alone: as serde_json writes them.
    #[test]
    fn floats_repeated_or_not_as_serde_json_writes_them() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut floats = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN,
            f64::MAX,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            0.00002,
            1e-7,
            123456.789,
        ];
        for i in 0..5_000 {
            crate::common::xorshift(&mut seed);
            let f = match i % 3 {
                0 => f64::from_bits(seed),
                1 => (seed % 1_000_000_000_000) as f64 / 1e9,
                _ => (seed % 100_000) as f64 * 1e-5,
            };
            for _ in 0..(seed >> 60) % 4 {
                floats.push(f);
            }
            floats.push(f);
        }
        for f in &floats {
            same(f);
        }
        same(&floats);
        // Each float kept, then written with its neighbours (the kept one
        // copied where it comes again).
        for (i, f) in floats.iter().enumerate() {
            let around = floats
                .get(i.saturating_sub(2)..(i + 3).min(floats.len()))
                .unwrap();
            let mut got = Vec::new();
            with_writer(&mut got, |w| w.float_kept(*f)).unwrap();
            write(&mut got, around).unwrap();
            let mut want = serde_json::to_vec(f).unwrap();
            want.extend(serde_json::to_vec(around).unwrap());
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            );
        }
        same(&floats.iter().map(|f| (*f, Some(*f))).collect::<Vec<_>>());
    }

    /// Strings of every length up to 40 bytes, with an escape (or none)
    /// at every place: as serde_json writes them.
    #[test]
    fn strings_of_every_length_with_an_escape_anywhere_as_serde_json_writes_them() {
        for len in 0..40 {
            let plain: String = "abcdefghij0123456789é".chars().cycle().take(len).collect();
            same(&plain);
            for at in 0..len {
                for escape in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}'] {
                    let mut s: Vec<char> = plain.chars().collect();
                    s[at] = escape;
                    let s: String = s.into_iter().collect();
                    same(&s);
                    same(&format!("{s}{s}"));
                }
            }
        }
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

    /// Fixed texts with every kind of byte serde_json escapes.
    const FIXED: [&str; 6] = [
        "",
        "plain",
        "a \"quoted\" name",
        "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server",
        "tab\tnew line\ncarriage\rbell\u{7}nul\u{0}unit\u{1f}del\u{7f}",
        "é, 漢字 and \u{1F600}, then \\\"",
    ];

    #[test]
    fn a_fixed_text_is_written_as_serde_json_writes_its_string() {
        for text in FIXED {
            let fixed = Text::fixed(text);
            let owned = Text::from(text.to_string());
            // serde_json sees through the fixed text's newtype.
            let want = serde_json::to_vec(text).unwrap();
            assert_eq!(serde_json::to_vec(&fixed).unwrap(), want);
            assert_eq!(serde_json::to_vec(&owned).unwrap(), want);
            assert_eq!(
                serde_json::to_value(&fixed).unwrap(),
                serde_json::json!(text)
            );
            // Written three times: escaped, then copied from the table.
            for _ in 0..3 {
                same(&fixed);
                same(&owned);
                same(&vec![Some(fixed.clone()), None, Some(owned.clone())]);
            }
        }
    }

    #[test]
    fn fixed_texts_at_one_address_are_told_apart_by_length() {
        let whole: &'static str = "syn_ack_retransmission";
        let texts: Vec<Text> = (0..=whole.len())
            .filter_map(|n| whole.get(..n))
            .map(Text::fixed)
            .collect();
        same(&texts);
        same(&texts);
    }

    #[test]
    fn fixed_texts_past_the_table_s_bounds_are_escaped_each_time() {
        // More texts than the table keeps, some longer than its padding,
        // each made 'static for the test.
        let texts: Vec<Text> = (0..MAX_TEXTS + 50)
            .map(|i| {
                let s = format!("text {i} \"{}\"\n", "x".repeat(i % 70));
                Text::fixed(Box::leak(s.into_boxed_str()))
            })
            .collect();
        for _ in 0..2 {
            same(&texts);
        }
    }

    #[test]
    fn field_and_variant_names_are_written_from_the_table() {
        #[derive(serde::Serialize)]
        struct Renamed {
            #[serde(rename = "a \"b\"\\c\u{1}")]
            a: u8,
            #[serde(rename = "")]
            empty: Kind,
        }
        #[derive(serde::Serialize)]
        enum Odd {
            #[serde(rename = "v\"1")]
            One,
            #[serde(rename = "v\t2")]
            Two { x: u8 },
        }
        for _ in 0..2 {
            same(&Renamed {
                a: 1,
                empty: Kind::Unit,
            });
            same(&(Odd::One, Odd::Two { x: 2 }));
        }
    }

    mod one {
        /// A struct named as another below, with other fields.
        #[derive(serde::Serialize)]
        pub struct Same {
            pub a: u8,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub maybe: Option<u8>,
            pub a_field_name_longer_than_the_block_kept_inline: bool,
            pub b: &'static str,
        }
    }

    mod two {
        #[derive(serde::Serialize)]
        pub struct Same {
            pub b: u8,
            pub a: Option<u8>,
        }

        #[derive(serde::Serialize)]
        pub enum E {
            Same { a: u8, z: u8 },
        }
    }

    #[derive(serde::Serialize)]
    enum F {
        Same { z: u8, y: u8 },
    }

    #[test]
    fn field_names_found_by_position_whatever_was_skipped_or_shares_a_name() {
        let first = |maybe| one::Same {
            a: 1,
            maybe,
            a_field_name_longer_than_the_block_kept_inline: true,
            b: "x",
        };
        // Every order of skipped and written fields, and of the structs
        // and struct variants sharing a name, more than once.
        for _ in 0..3 {
            same(&first(None));
            same(&first(Some(2)));
            same(&two::Same { b: 3, a: None });
            same(&(
                first(Some(4)),
                two::E::Same { a: 5, z: 6 },
                F::Same { z: 7, y: 8 },
                first(None),
            ));
            same(&vec![
                first(None),
                first(Some(9)),
                first(Some(10)),
                first(None),
            ]);
        }
    }

    #[test]
    fn zero_and_other_floats_as_serde_json_writes_them() {
        for v in [
            0.0f64,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            0.00002,
            1e-7,
            1e16,
            1e21,
            f64::MAX,
            f64::NAN,
            f64::NEG_INFINITY,
        ] {
            same(&v);
            same(&Some(v));
        }
    }

    #[test]
    fn numbers_of_one_digit_and_more() {
        for n in [0u64, 1, 9, 10, 11, 99, 100, 255, 256, 65_535, u64::MAX] {
            same(&n);
            same(&(
                n as u8, n as u16, n as u32, n as i8, n as i16, n as i32, n as i64,
            ));
        }
        same(&(-1i64, -9i8, i128::from(i64::MIN) - 1, 7u128));
    }

    proptest! {
        #[test]
        fn any_integer_as_serde_json_writes_it(n in any::<u64>(), i in any::<i64>(), shift in 0u32..64) {
            same(&(n, n >> shift, i, i >> shift, (n >> shift) as u32, (i >> shift) as i32));
        }

        #[test]
        fn any_string_as_serde_json_writes_it(s in any::<String>()) {
            same(&s);
        }

        #[test]
        fn any_string_as_a_fixed_text_as_serde_json_writes_it(s in any::<String>()) {
            let text = Text::fixed(Box::leak(s.into_boxed_str()));
            same(&text);
            same(&text);
        }

        #[test]
        fn any_ascii_string_as_serde_json_writes_it(s in "[\\x00-\\x7f]{0,64}") {
            same(&s);
        }
    }
}
