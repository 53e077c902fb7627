//! The secrets decryption can use: NSS key log lines (RFC 9850) and RSA
//! private keys (PEM, PKCS#1 or PKCS#8). Parsed from text the caller read;
//! no I/O here. Secret bytes are zeroized when dropped.

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Where a secret came from: a file named on the command line, or a
/// Decryption Secrets Block of the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File(String),
    CaptureBlock { index: usize },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(p) => f.write_str(p),
            Origin::CaptureBlock { index } => {
                write!(f, "the capture's Decryption Secrets Block {index}")
            }
        }
    }
}

/// A key log label this decryptor uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// The 48-byte master secret (SSL 3.0 - TLS 1.2).
    ClientRandom,
    ClientHandshakeTrafficSecret,
    ServerHandshakeTrafficSecret,
    ClientTrafficSecret0,
    ServerTrafficSecret0,
}

impl Label {
    const TABLE: [(&'static str, Label); 5] = [
        ("CLIENT_RANDOM", Label::ClientRandom),
        (
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Label::ClientHandshakeTrafficSecret,
        ),
        (
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Label::ServerHandshakeTrafficSecret,
        ),
        ("CLIENT_TRAFFIC_SECRET_0", Label::ClientTrafficSecret0),
        ("SERVER_TRAFFIC_SECRET_0", Label::ServerTrafficSecret0),
    ];

    fn parse(s: &str) -> Option<Label> {
        Self::TABLE.iter().find(|(n, _)| *n == s).map(|&(_, l)| l)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = Self::TABLE
            .iter()
            .find(|(_, l)| l == self)
            .map_or("", |(n, _)| n);
        f.write_str(name)
    }
}

/// What reading one key log gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Secret lines kept.
    pub secrets: usize,
    /// Comment and blank lines.
    pub comments: usize,
    /// Lines with a label this decryptor does not use (EXPORTER_SECRET,
    /// CLIENT_EARLY_TRAFFIC_SECRET, RSA, ...).
    pub unknown_labels: usize,
    /// Lines that do not parse (bad hex, wrong lengths, no fields), with
    /// the 1-based number of the first.
    pub malformed: usize,
    pub first_malformed_line: Option<usize>,
}

impl std::fmt::Display for KeyLogStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} secrets read", self.secrets)?;
        let skipped = self.comments + self.unknown_labels + self.malformed;
        if skipped > 0 {
            write!(
                f,
                "; {skipped} lines skipped ({} comments or blank, {} unknown labels, {} malformed",
                self.comments, self.unknown_labels, self.malformed
            )?;
            if let Some(n) = self.first_malformed_line {
                write!(f, ", the first at line {n}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// One secret of a key log.
#[derive(Clone)]
struct Entry {
    secret: Zeroizing<Vec<u8>>,
    origin: usize,
}

/// An RSA private key and its modulus (to match server certificates).
#[derive(Clone)]
pub struct RsaKey {
    key: rsa::PrivateKey,
    modulus: Vec<u8>,
    origin: usize,
}

/// Every secret given for an analysis.
#[derive(Clone, Default)]
pub struct Keys {
    origins: Vec<Origin>,
    log: HashMap<(Label, [u8; 32]), Entry>,
    rsa: Vec<RsaKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Keys")
            .field("origins", &self.origins)
            .field("log_secrets", &self.log.len())
            .field("rsa_keys", &self.rsa.len())
            .finish()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why an RSA key file could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaKeyError(pub String);

impl std::fmt::Display for RsaKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Strip leading zero bytes of a big-endian integer.
pub fn trim_be(b: &[u8]) -> &[u8] {
    let z = b.iter().take_while(|&&x| x == 0).count();
    &b[z..]
}

impl Keys {
    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.rsa.is_empty()
    }

    fn origin(&mut self, o: Origin) -> usize {
        self.origins.push(o);
        self.origins.len() - 1
    }

    pub fn origin_of(&self, i: usize) -> &Origin {
        &self.origins[i]
    }

    /// Add the lines of a key log. Leniently: comments, blank lines,
    /// unknown labels and lines that do not parse are skipped and counted.
    /// A line may carry a prefix before its label (some loggers add a
    /// time or an address): the label is searched among its fields.
    pub fn add_key_log(&mut self, text: &str, origin: Origin) -> KeyLogStats {
        let o = self.origin(origin);
        let mut st = KeyLogStats::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                st.comments += 1;
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let found = fields
                .iter()
                .enumerate()
                .find_map(|(i, f)| Some((i, Label::parse(f)?)));
            let Some((i, label)) = found else {
                let known_shape = fields.len() == 3
                    && fields[0]
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit());
                if known_shape {
                    st.unknown_labels += 1;
                } else {
                    st.malformed += 1;
                    st.first_malformed_line.get_or_insert(n + 1);
                }
                continue;
            };
            let parsed = (|| {
                let cr: [u8; 32] = unhex(fields.get(i + 1)?)?.try_into().ok()?;
                let secret = Zeroizing::new(unhex(fields.get(i + 2)?)?);
                let ok_len = match label {
                    Label::ClientRandom => secret.len() == 48,
                    _ => matches!(secret.len(), 32 | 48),
                };
                (ok_len && fields.len() == i + 3).then_some((cr, secret))
            })();
            match parsed {
                Some((cr, secret)) => {
                    st.secrets += 1;
                    self.log.insert((label, cr), Entry { secret, origin: o });
                }
                None => {
                    st.malformed += 1;
                    st.first_malformed_line.get_or_insert(n + 1);
                }
            }
        }
        st
    }

    /// Add an RSA private key in PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8
    /// "PRIVATE KEY").
    pub fn add_rsa_pem(&mut self, pem: &str, origin: Origin) -> Result<(), RsaKeyError> {
        let key = rsa::PrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs8_pem(pem))
            .map_err(|e| {
                RsaKeyError(format!(
                    "not an RSA private key in PEM (PKCS#1 or PKCS#8): {e}"
                ))
            })?;
        let modulus = trim_be(&key.n().to_be_bytes()).to_vec();
        let o = self.origin(origin);
        self.rsa.push(RsaKey {
            key,
            modulus,
            origin: o,
        });
        Ok(())
    }

    /// The key log secret with this label for this client random.
    pub fn secret(&self, label: Label, client_random: &[u8; 32]) -> Option<(&[u8], usize)> {
        self.log
            .get(&(label, *client_random))
            .map(|e| (&e.secret[..], e.origin))
    }

    pub fn has_rsa(&self) -> bool {
        !self.rsa.is_empty()
    }

    /// The RSA key whose modulus is the certificate's, and its origin.
    pub fn rsa_for(&self, modulus: &[u8]) -> Option<(&rsa::PrivateKey, usize)> {
        let m = trim_be(modulus);
        self.rsa
            .iter()
            .find(|k| k.modulus == m)
            .map(|k| (&k.key, k.origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_log_lines_are_read_leniently_and_counted() {
        let cr = "ab".repeat(32);
        let ms = "cd".repeat(48);
        let ts = "ef".repeat(32);
        let text = format!(
            "# a comment\n\nCLIENT_RANDOM {cr} {ms}\n\
             2026-01-01T00:00:00 10.0.0.1 SERVER_TRAFFIC_SECRET_0 {cr} {ts}\n\
             EXPORTER_SECRET {cr} {ts}\n\
             CLIENT_RANDOM {cr} abc\n\
             garbage\n"
        );
        let mut k = Keys::default();
        let st = k.add_key_log(&text, Origin::File("k.log".into()));
        assert_eq!(st.secrets, 2);
        assert_eq!(st.comments, 2);
        assert_eq!(st.unknown_labels, 1);
        assert_eq!(st.malformed, 2);
        assert_eq!(st.first_malformed_line, Some(6));
        let crb: [u8; 32] = [0xab; 32];
        assert_eq!(
            k.secret(Label::ClientRandom, &crb).unwrap().0,
            &[0xcd; 48][..]
        );
        assert_eq!(
            k.secret(Label::ServerTrafficSecret0, &crb).unwrap().0,
            &[0xef; 32][..]
        );
        assert!(k.secret(Label::ClientTrafficSecret0, &crb).is_none());
        assert!(!format!("{k:?}").contains("cdcd"));
    }

    #[test]
    fn a_file_that_is_no_rsa_key_is_an_error() {
        let mut k = Keys::default();
        assert!(k
            .add_rsa_pem("not a key", Origin::File("x".into()))
            .is_err());
        assert!(!k.has_rsa());
    }
}
