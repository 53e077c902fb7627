//! Small value types shared by every stage: time, direction, endpoints;
//! and the opener of the temporary files that keep what outgrows memory.
//!
//! Nothing here knows about any stage; every stage may use it.

use std::fmt;
use std::net::SocketAddr;

/// A capture timestamp: nanoseconds since the Unix epoch (may be negative
/// for captures that claim dates before 1970).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_nanos(n: i64) -> Self {
        Timestamp(n)
    }
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos as i64),
        )
    }
    pub const fn nanos(self) -> i64 {
        self.0
    }
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }
    /// Signed duration `self - earlier` in nanoseconds.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
    /// RFC 3339 in UTC with microseconds, e.g. `2014-05-08T15:47:34.123456Z`.
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity("2014-05-08T15:47:34.123456Z".len());
        self.push_rfc3339(&mut out);
        out
    }

    /// [`Timestamp::to_rfc3339`] appended to `out`. The date and time up
    /// to the second are those of the thread's last timestamp most
    /// often (the times of a capture's connections come in order, a
    /// second holds many), so they are kept and copied; only the
    /// microseconds are written each time.
    pub fn push_rfc3339(self, out: &mut String) {
        let secs = self.secs();
        LAST_SECOND.with_borrow_mut(|(second, head)| {
            if *second != Some(secs) {
                head.clear();
                push_second(head, secs);
                *second = Some(secs);
            }
            out.push_str(head);
        });
        // The microseconds two digits at a time, pushed as chars: seven
        // ASCII bytes, fewer instructions than a check of UTF-8.
        let micros = self.subsec_nanos() / 1000;
        for pair in [micros / 10_000, micros / 100 % 100, micros % 100] {
            let [tens, units] = PAIRS[pair as usize % 100];
            out.push(char::from(tens));
            out.push(char::from(units));
        }
        out.push('Z');
    }
}

/// The two decimal digits of each number below 100.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        t[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    t
};

thread_local! {
    /// The second of the thread's last RFC 3339 time, and its text up to
    /// the fraction (`2014-05-08T15:47:34.`).
    static LAST_SECOND: std::cell::RefCell<(Option<i64>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

/// `2014-05-08T15:47:34.`: the RFC 3339 time of second `secs` since the
/// epoch, up to its fraction.
fn push_second(out: &mut String, secs: i64) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Nanoseconds in an i64 span the years 1677 to 2262: always four
    // digits. The digits are written one by one (`format!` with widths
    // costs ten times as much).
    let Ok(year @ 0..=9999) = u32::try_from(y) else {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        );
        return;
    };
    let sod = sod as u32; // 0..86_400
    let mut text = [0u8; 20];
    let mut at = 0;
    for (n, width, after) in [
        (year, 4, b'-'),
        (m, 2, b'-'),
        (d, 2, b'T'),
        (sod / 3600, 2, b':'),
        (sod / 60 % 60, 2, b':'),
        (sod % 60, 2, b'.'),
    ] {
        put_digits(&mut text[at..at + width], n);
        text[at + width] = after;
        at += width + 1;
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Numbers below this are written by [`extend_decimal`] in a word: eight
/// digits at most.
const WORD_DECIMALS: u64 = 100_000_000;

/// Append `n` in decimal (what `Display` writes) to `out`. A number of
/// up to eight digits (frames, counts, sizes, codes: most numbers of a
/// record, written by the million) is gathered in a word, its first
/// digit in the lowest byte, and the word stored whole, the bytes after
/// the digits then dropped: no call to `memcpy` for a few bytes, and no
/// load of digits just stored byte by byte (which waits for the
/// stores). Longer numbers go through itoa.
pub(crate) fn extend_decimal(out: &mut Vec<u8>, n: u64) {
    if n >= WORD_DECIMALS {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        return;
    }
    // The digits found go before those found so far: two at a time from
    // the last (as itoa does), then the first alone when their number is
    // odd.
    let mut word = 0u64;
    let mut digits = 0;
    let mut rest = n;
    while rest >= 10 {
        word = word << 16 | u64::from(u16::from_le_bytes(PAIRS[(rest % 100) as usize]));
        digits += 2;
        rest /= 100;
    }
    if rest > 0 || digits == 0 {
        word = word << 8 | (u64::from(b'0') + rest);
        digits += 1;
    }
    let end = out.len() + digits;
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(end);
}

/// The last `out.len()` decimal digits of `n`, zero-padded.
fn put_digits(out: &mut [u8], mut n: u32) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A socket address written as its `Display` writes it (`a.b.c.d:port`,
/// `[v6]:port`), an IPv4 one digit by digit: each connection's record
/// and evidence write two or three, and the formatting machinery cost
/// more than the rest of their strings.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint(pub SocketAddr);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SocketAddr::V4(v4) = self.0 else {
            return self.0.fmt(f);
        };
        let (text, len) = v4_text(v4);
        // `pad`, as `SocketAddr` does: a width or fill still applies.
        f.pad(std::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or_default())
    }
}

impl Endpoint {
    /// What `Display` writes, appended to `out` (an IPv4 address
    /// without the formatting machinery).
    ///
    /// The thread's last two addresses written are kept with their text
    /// (a capture's connections go mostly to a few servers: the server of
    /// each record, and of its SYN's evidence, is most often the last).
    pub fn push_to(&self, out: &mut String) {
        LAST_ENDPOINTS.with_borrow_mut(|last| {
            let [recent, older] = last;
            if recent.0 == Some(self.0) {
                out.push_str(&recent.1);
                return;
            }
            if older.0 == Some(self.0) {
                out.push_str(&older.1);
                std::mem::swap(recent, older);
                return;
            }
            // Written in place of the older one, which becomes the
            // recent one.
            older.1.clear();
            self.push_text(&mut older.1);
            older.0 = Some(self.0);
            out.push_str(&older.1);
            std::mem::swap(recent, older);
        });
    }

    /// What `Display` writes, appended to `out`, written each time.
    fn push_text(&self, out: &mut String) {
        let SocketAddr::V4(v4) = self.0 else {
            use std::fmt::Write;
            let _ = write!(out, "{}", self.0);
            return;
        };
        let (text, len) = v4_text(v4);
        out.push_str(std::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or_default());
    }
}

thread_local! {
    /// The thread's last two endpoints written and their texts, the most
    /// recent first ([`Endpoint::push_to`]).
    static LAST_ENDPOINTS: std::cell::RefCell<[(Option<SocketAddr>, String); 2]> =
        const { std::cell::RefCell::new([(None, String::new()), (None, String::new())]) };
}

/// `a.b.c.d:port` in the first bytes of an array: the array and their
/// number.
fn v4_text(v4: std::net::SocketAddrV4) -> ([u8; 24], usize) {
    let mut text = [0u8; 24];
    let mut at = 0;
    for octet in v4.ip().octets() {
        // The three digit places and a dot written at once, the dot then
        // put after the digits the octet has.
        let [a, b, c, len] = OCTETS[usize::from(octet)];
        let len = usize::from(len);
        text[at..at + 4].copy_from_slice(&[a, b, c, b'.']);
        text[at + len] = b'.';
        at += len + 1;
    }
    // The last dot becomes the colon (`at` is at least 8 here).
    text[at - 1] = b':';
    at += put_decimal(&mut text[at..], u32::from(v4.port()));
    (text, at)
}

/// Each octet's decimal digits (up to three, zero after them) and their
/// number.
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        let (h, d, u) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        t[n] = if n >= 100 {
            [b'0' + h, b'0' + d, b'0' + u, 3]
        } else if n >= 10 {
            [b'0' + d, b'0' + u, 0, 2]
        } else {
            [b'0' + u, 0, 0, 1]
        };
        n += 1;
    }
    t
};

/// Write `n` in decimal at the start of `out` (room for its digits);
/// the number of bytes written.
fn put_decimal(out: &mut [u8], n: u32) -> usize {
    let mut digits = 1;
    let mut rest = n / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    let digits = digits.min(out.len());
    put_digits(&mut out[..digits], n);
    digits
}

/// A signed span of time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms * 1_000_000)
    }
    pub const fn from_secs(s: i64) -> Self {
        Duration(s * 1_000_000_000)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl fmt::Display for Duration {
    /// Human form: `0.4 ms`, `12.3 ms`, `1.52 s`, `21 s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 24];
        match self.fixed(&mut text) {
            Some((len, name)) => {
                f.write_str(
                    std::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or_default(),
                )?;
                f.write_str(name)
            }
            None => self.fmt_by_float(f, self.as_millis_f64()),
        }
    }
}

impl Duration {
    /// What `Display` writes, appended to `out` (without the formatting
    /// machinery but for ties and spans of 1,000 s or more).
    pub fn push_to(&self, out: &mut String) {
        let mut text = [0u8; 24];
        match self.fixed(&mut text) {
            Some((len, name)) => {
                out.push_str(
                    std::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or_default(),
                );
                out.push_str(name);
            }
            None => {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    }

    /// The number `Display` writes, in fixed point at the start of `text`,
    /// its length and the unit's name after it; None where the float
    /// must be formatted (see [`fixed_point`]).
    #[inline]
    fn fixed(&self, text: &mut [u8; 24]) -> Option<(usize, &'static str)> {
        let ms = self.as_millis_f64();
        // The unit (in nanoseconds), its name and the decimals.
        const MS: i64 = 1_000_000;
        const S: i64 = 1_000_000_000;
        let (unit, name, decimals) = if ms.abs() < 1.0 {
            (MS, " ms", 2)
        } else if ms.abs() < 100.0 {
            (MS, " ms", 1)
        } else if ms.abs() < 1000.0 {
            (MS, " ms", 0)
        } else if ms.abs() < 10_000.0 {
            (S, " s", 2)
        } else {
            (S, " s", 0)
        };
        fixed_point(text, self.0, unit, decimals).map(|len| (len, name))
    }
}

/// `n` nanoseconds in `unit`s with `decimals` decimals, rounded, written
/// at the start of `out`: what `{:.decimals}` writes of the float
/// `n / unit`, without formatting a float. The float's rounding error is
/// far below a nanosecond for spans under `FIXED_POINT_BELOW`, so the two
/// round alike except at an exact tie between two values, which the
/// float may hold a little above or below: None then, as for longer
/// spans, and the caller formats the float.
fn fixed_point(out: &mut [u8; 24], n: i64, unit: i64, decimals: u32) -> Option<usize> {
    let abs = n.unsigned_abs();
    let step = u64::try_from(unit).ok()? / 10u64.pow(decimals);
    if abs >= FIXED_POINT_BELOW || step == 0 {
        return None;
    }
    let (mut q, r) = (abs / step, abs % step);
    if 2 * r == step {
        return None;
    }
    q += u64::from(2 * r > step);
    let scale = 10u64.pow(decimals);
    let (whole, fraction) = (q / scale, q % scale);
    let mut at = 0;
    if n < 0 {
        out[0] = b'-';
        at = 1;
    }
    at += put_decimal(out.get_mut(at..)?, u32::try_from(whole).ok()?);
    if decimals > 0 {
        let end = at + 1 + decimals as usize;
        *out.get_mut(at)? = b'.';
        put_digits(out.get_mut(at + 1..end)?, u32::try_from(fraction).ok()?);
        at = end;
    }
    Some(at)
}

/// Spans written without formatting a float: under 1,000 s.
const FIXED_POINT_BELOW: u64 = 1_000_000_000_000;

impl Duration {
    /// [`Duration`]'s `Display` by formatting the float `ms`.
    fn fmt_by_float(&self, f: &mut fmt::Formatter<'_>, ms: f64) -> fmt::Result {
        if ms.abs() < 1.0 {
            write!(f, "{:.2} ms", ms)
        } else if ms.abs() < 100.0 {
            write!(f, "{:.1} ms", ms)
        } else if ms.abs() < 1000.0 {
            write!(f, "{:.0} ms", ms)
        } else if ms.abs() < 10_000.0 {
            write!(f, "{:.2} s", ms / 1000.0)
        } else {
            write!(f, "{:.0} s", ms / 1000.0)
        }
    }
}

/// Direction of a packet or event within one TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// From the client (the side that sent the SYN) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    pub fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
    /// Who sent a packet travelling in this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Dir::ToServer => "client",
            Dir::ToClient => "server",
        }
    }
}

/// Why the bytes of one direction were not all kept: a bound on memory
/// was reached. Later bytes were counted, not kept, so anything decoded
/// from them is unknown (not absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepLimit {
    /// The per-direction depth cap: the first `bytes` bytes were kept.
    DepthCap { bytes: u64 },
    /// The number of holes (missing ranges) kept for one direction.
    Holes { max: u64 },
    /// The bytes held zero-filled in holes for one direction.
    HoleBytes { max: u64 },
    /// The total of buffered bytes across all connections.
    MemoryBudget { bytes: u64 },
}

impl KeepLimit {
    /// A stable name for machine-readable output.
    pub fn name(self) -> &'static str {
        match self {
            KeepLimit::DepthCap { .. } => "depth_cap",
            KeepLimit::Holes { .. } => "holes",
            KeepLimit::HoleBytes { .. } => "hole_bytes",
            KeepLimit::MemoryBudget { .. } => "memory_budget",
        }
    }

    /// Whether bytes were lost before the depth cap (the depth cap only
    /// ends the kept prefix; the other limits leave holes in it).
    pub fn lost_in_depth(self) -> bool {
        !matches!(self, KeepLimit::DepthCap { .. })
    }
}

/// `1 MiB`, `256 KiB`, `1500 bytes`.
pub fn size_text(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

impl fmt::Display for KeepLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeepLimit::DepthCap { bytes } => {
                write!(f, "depth cap reached ({} kept)", size_text(bytes))
            }
            KeepLimit::Holes { max } => {
                write!(f, "hole limit reached (at most {max} missing ranges kept)")
            }
            KeepLimit::HoleBytes { max } => write!(
                f,
                "hole limit reached (at most {} missing in holes)",
                size_text(max)
            ),
            KeepLimit::MemoryBudget { bytes } => write!(
                f,
                "memory budget reached ({} buffered in all connections)",
                size_text(bytes)
            ),
        }
    }
}

/// Both endpoints of a TCP connection, client first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// A new temporary file in the system's temporary directory (`TMPDIR` on
/// Unix), already unlinked on Unix: nothing is left behind however the
/// process ends. The path is for removing it elsewhere once dropped.
pub fn temp_file() -> std::io::Result<(std::io::BufWriter<std::fs::File>, std::path::PathBuf)> {
    temp_file_in(&std::env::temp_dir())
}

/// [`temp_file`] in `dir`.
pub fn temp_file_in(
    dir: &std::path::Path,
) -> std::io::Result<(std::io::BufWriter<std::fs::File>, std::path::PathBuf)> {
    use std::io;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".rdptriage-{}-{n}.spill", std::process::id()));
        match std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                if cfg!(unix) {
                    let _ = std::fs::remove_file(&path);
                }
                return Ok((io::BufWriter::with_capacity(1 << 16, f), path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary file"))
}

/// The next number of a small deterministic sequence (xorshift64), for
/// tests that want many varied inputs and the same ones each run.
#[cfg(test)]
pub(crate) fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses of every shape: v4 at the ends of its range, v6 with
    /// and without a v4 tail, scoped, ports 0 and 65535.
    fn sample_endpoints() -> Vec<SocketAddr> {
        let v6 = |s: &str, port, scope| {
            SocketAddr::V6(std::net::SocketAddrV6::new(
                s.parse().unwrap(),
                port,
                0,
                scope,
            ))
        };
        let mut addrs: Vec<SocketAddr> = [
            "0.0.0.0:0",
            "1.2.3.4:5",
            "10.1.0.0:20001",
            "192.0.2.1:3389",
            "255.255.255.255:65535",
            "9.99.100.7:10",
            "[2001:db8::1]:3389",
            "[::ffff:192.0.2.1]:443",
            "[::]:0",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        addrs.push(v6("fe80::1", 65535, 2));
        addrs.push(v6("::ffff:10.0.0.1", 0, 7));
        addrs
    }

    #[test]
    fn endpoints_are_written_as_socket_addr_displays_them() {
        for a in sample_endpoints() {
            assert_eq!(Endpoint(a).to_string(), a.to_string());
            // Width and fill apply as they do to the address itself.
            assert_eq!(format!("{:>24}|", Endpoint(a)), format!("{a:>24}|"));
            assert_eq!(format!("{:*<24}|", Endpoint(a)), format!("{a:*<24}|"));
        }
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000000Z");
        // 2014-05-08T15:47:34.5Z
        let t = Timestamp::from_secs_nanos(1_399_564_054, 500_000_000);
        assert_eq!(t.to_rfc3339(), "2014-05-08T15:47:34.500000Z");
        // before the epoch
        let t = Timestamp::from_secs_nanos(-1, 0);
        assert_eq!(t.to_rfc3339(), "1969-12-31T23:59:59.000000Z");
        // a leap day, every digit at its largest
        let t = Timestamp::from_secs_nanos(951_868_799, 999_999_999);
        assert_eq!(t.to_rfc3339(), "2000-02-29T23:59:59.999999Z");
        // the ends of the range (dates from Python's datetime)
        assert_eq!(
            Timestamp(i64::MIN).to_rfc3339(),
            "1677-09-21T00:12:43.145224Z"
        );
        assert_eq!(
            Timestamp(i64::MAX).to_rfc3339(),
            "2262-04-11T23:47:16.854775Z"
        );
    }

    #[test]
    fn endpoints_pushed_as_socket_addr_displays_them() {
        for a in sample_endpoints() {
            let mut out = String::from("x");
            Endpoint(a).push_to(&mut out);
            assert_eq!(out, format!("x{a}"));
        }
    }

    /// The RFC 3339 time as the formatting machinery writes it, from the
    /// same civil date.
    fn rfc3339_by_format(t: Timestamp) -> String {
        let secs = t.secs();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            t.subsec_nanos() / 1000
        )
    }

    #[test]
    fn rfc3339_the_same_whatever_time_was_written_before() {
        let seconds = [
            0i64,
            -1,
            1,
            59,
            60,
            86_399,
            86_400,
            951_782_399, // 2000-02-28T23:59:59
            951_868_799, // 2000-02-29T23:59:59
            1_078_099_199,
            4_107_542_399, // 2100-02-28T23:59:59 (no leap day)
            -2_208_988_801,
            1_789_999_999,
        ];
        let nanos = [0u32, 1, 999, 1_000, 499_999, 500_000, 999_999_999];
        let mut times: Vec<Timestamp> = Vec::new();
        for s in seconds {
            for n in nanos {
                times.push(Timestamp::from_secs_nanos(s, n));
            }
        }
        times.push(Timestamp(i64::MIN));
        times.push(Timestamp(i64::MAX));
        // In order, in reverse, and alternating between far seconds.
        let mut orders = vec![times.clone()];
        orders.push(times.iter().rev().copied().collect());
        orders.push(
            times
                .iter()
                .zip(times.iter().rev())
                .flat_map(|(a, b)| [*a, *b])
                .collect(),
        );
        for order in orders {
            for t in order {
                assert_eq!(t.to_rfc3339(), rfc3339_by_format(t), "{t:?}");
                let mut out = String::from("x");
                t.push_rfc3339(&mut out);
                assert_eq!(out, format!("x{}", rfc3339_by_format(t)));
            }
        }
    }

    #[test]
    fn duration_display() {
        assert_eq!(Duration(400_000).to_string(), "0.40 ms");
        assert_eq!(Duration::from_millis(1520).to_string(), "1.52 s");
        assert_eq!(Duration::from_secs(21).to_string(), "21 s");
    }

    /// What `Display` wrote by formatting the float (the oracle).
    fn by_float(d: Duration) -> String {
        struct ByFloat(Duration);
        impl fmt::Display for ByFloat {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_by_float(f, self.0.as_millis_f64())
            }
        }
        ByFloat(d).to_string()
    }

    /// Spans around every rounding boundary of every unit (the ties
    /// included, one nanosecond either side), at the ends of the ranges,
    /// and past the bound of the fixed-point path.
    #[test]
    fn durations_written_as_the_float_formats_them() {
        let mut spans: Vec<i64> = vec![0, 1, 999, 1_000, i64::MAX, i64::MIN, i64::MIN + 1];
        for step in [10_000i64, 100_000, 1_000_000, 10_000_000, 1_000_000_000] {
            for k in (0..2_000).chain([9_999, 10_000, 99_999, 100_000, 999_999, 1_000_000]) {
                let tie = k * step + step / 2;
                spans.extend([tie - 1, tie, tie + 1, k * step, k * step + 1, k * step - 1]);
            }
        }
        for limit in [
            1_000_000i64,
            100_000_000,
            1_000_000_000,
            10_000_000_000,
            1_000_000_000_000,
        ] {
            spans.extend([
                limit - 5_001,
                limit - 5_000,
                limit - 4_999,
                limit - 1,
                limit,
                limit + 1,
            ]);
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            xorshift(&mut seed);
            // Spans of every size up to about 18 minutes, and a few longer.
            let bits = seed % 45;
            spans.push((seed >> 8) as i64 % (1i64 << bits).max(1));
        }
        for n in spans {
            for n in [n, n.saturating_neg()] {
                let d = Duration(n);
                assert_eq!(d.to_string(), by_float(d), "{n} ns");
                let mut pushed = String::from("x");
                d.push_to(&mut pushed);
                assert_eq!(pushed, format!("x{}", by_float(d)), "{n} ns");
            }
        }
    }

    /// Random endpoints, v4 and v6, each written once or several times in
    /// a row and in turns (the kept texts hit and miss), as `Display`
    /// writes them.
    #[test]
    fn endpoints_pushed_in_any_order_as_socket_addr_displays_them() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || xorshift(&mut seed);
        let mut addrs = sample_endpoints();
        for _ in 0..2_000 {
            let r = next();
            let port = (r >> 16) as u16;
            addrs.push(if r % 4 == 0 {
                let v6 = std::net::Ipv6Addr::from(u128::from(next()) << 64 | u128::from(next()));
                SocketAddr::V6(std::net::SocketAddrV6::new(
                    v6,
                    port,
                    0,
                    (r >> 40) as u32 % 3,
                ))
            } else {
                // Octets of every width, 0 to 255.
                let b = (r >> 32) as u32;
                let ip = std::net::Ipv4Addr::from(b >> ((r % 3) * 8));
                SocketAddr::V4(std::net::SocketAddrV4::new(ip, port >> (r % 16)))
            });
        }
        let mut out = String::new();
        let mut expected = String::new();
        for i in 0..20_000 {
            let r = next() as usize;
            // Mostly one of the last few, as a server recurs.
            let at = if r % 3 == 0 {
                r % addrs.len()
            } else {
                (i / 7) % addrs.len()
            };
            let a = addrs[at];
            Endpoint(a).push_to(&mut out);
            expected.push_str(&a.to_string());
            out.push(' ');
            expected.push(' ');
        }
        assert_eq!(out, expected);
    }

    /// Numbers of every length (the powers of ten and their neighbours,
    /// the ends of the range, random ones of each magnitude): the text
    /// `Display` writes, with nothing after the digits, appended after
    /// what `out` held.
    #[test]
    fn extend_decimal_writes_what_display_writes() {
        let mut numbers = vec![0, 1, 9, 10, 11, 99, 100, 101, u64::MAX, u64::MAX - 1];
        let mut power = 1u64;
        while let Some(next) = power.checked_mul(10) {
            numbers.extend([power - 1, power, power + 1, next - 1]);
            power = next;
        }
        numbers.extend([power - 1, power, power + 1]);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            let n = xorshift(&mut seed);
            numbers.push(n >> (n % 64));
        }
        let mut out = b"kept".to_vec();
        let mut want = String::from("kept");
        for n in numbers {
            extend_decimal(&mut out, n);
            want.push_str(&n.to_string());
            want.push(' ');
            out.push(b' ');
        }
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
