//! X.509 certificate summaries (x509-parser): what an administrator needs
//! to recognise the certificate and judge it. Validity is judged later,
//! against the capture's own clock, not here.

/// A certificate as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names (DNS names, IP addresses), as text.
    pub sans: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// Subject equals issuer and the signature verifies with its own key
    /// (or, if that cannot be checked, subject equals issuer).
    pub self_signed: bool,
    /// e.g. `RSA`, `EC (P-256)`.
    pub key_algorithm: String,
    pub key_bits: Option<u32>,
    /// e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// Extended key usages by name (e.g. `serverAuth`), or OID.
    pub extended_key_usage: Vec<String>,
    /// SHA-1 over the DER, upper-case hex without separators (as Windows
    /// shows the thumbprint).
    pub sha1: String,
    /// SHA-256 over the DER, lower-case hex.
    pub sha256: String,
    /// Oddities of the certificate itself (duplicate extension, parse
    /// problems in one field).
    pub anomalies: Vec<String>,
}

/// Summarise a DER certificate (RFC 5280 4.1). `Err` only when the bytes
/// are not a certificate at all.
pub fn summarize(der: &[u8]) -> Result<CertInfo, String> {
    use x509_parser::certificate::X509Certificate;
    use x509_parser::prelude::FromDer;

    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| match e {
        x509_parser::nom::Err::Incomplete(_) => {
            format!("not an X.509 certificate: {} bytes, cut short", der.len())
        }
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
            format!("not an X.509 certificate: {e}")
        }
    })?;
    let mut anomalies = Vec::new();
    if !rest.is_empty() {
        anomalies.push(format!("{} bytes after the certificate", rest.len()));
    }
    let used = der.get(..der.len() - rest.len()).unwrap_or(der);

    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();

    // The accessors fail on a duplicate extension (reported below, once):
    // then the first instance is used.
    use x509_parser::extensions::ParsedExtension;
    let sans: Vec<String> = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                Some(san.general_names.iter().map(general_name).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    let has_san = cert.iter_extensions().any(|e| {
        matches!(
            e.parsed_extension(),
            ParsedExtension::SubjectAlternativeName(_)
        )
    });
    if has_san && sans.is_empty() {
        // RFC 5280 4.2.1.6: the extension holds at least one name.
        anomalies.push("empty subjectAltName extension".into());
    }
    let extended_key_usage = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => Some(eku_names(eku)),
            _ => None,
        })
        .unwrap_or_default();

    // Extensions x509-parser could not decode, and duplicates (RFC 5280
    // 4.2: "A certificate MUST NOT include more than one instance of a
    // particular extension").
    let mut seen: Vec<String> = Vec::new();
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        if seen.contains(&oid) {
            anomalies.push(format!("duplicate extension {}", oid_name(&ext.oid)));
        } else {
            seen.push(oid);
        }
        if let Some(err) = ext.parsed_extension().error() {
            anomalies.push(format!("extension {}: {err}", oid_name(&ext.oid)));
        }
    }

    let (key_algorithm, key_bits) = key_summary(cert.public_key(), &mut anomalies);
    let signature_algorithm = oid_name(&cert.signature_algorithm.algorithm);
    if cert.signature_algorithm.algorithm != cert.tbs_certificate.signature.algorithm {
        anomalies.push(format!(
            "signature algorithm {} differs from the one in the signed part ({})",
            signature_algorithm,
            oid_name(&cert.tbs_certificate.signature.algorithm)
        ));
    }

    let self_signed = is_self_signed(&cert, &mut anomalies);

    Ok(CertInfo {
        subject,
        issuer,
        sans,
        serial: serial_hex(cert.raw_serial()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed,
        key_algorithm,
        key_bits,
        signature_algorithm,
        extended_key_usage,
        sha1: hex_upper(&sha1::Sha1::digest(used)),
        sha256: hex_lower(&sha2::Sha256::digest(used)),
        anomalies,
    })
}

use sha1::Digest as _;

/// The serial number as the integer's hex digits (the DER sign byte
/// dropped, as openssl prints it).
fn serial_hex(raw: &[u8]) -> String {
    let mut b = raw;
    while let [0, rest @ ..] = b {
        if rest.is_empty() {
            break;
        }
        b = rest;
    }
    hex_lower(b)
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Short name of an OID from x509-parser's registry, or dotted form.
fn oid_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(sn) => sn.to_string(),
        Err(_) => oid.to_id_string(),
    }
}

fn general_name(g: &x509_parser::extensions::GeneralName<'_>) -> String {
    use x509_parser::extensions::GeneralName;
    match g {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => match b.len() {
            4 => {
                let a: [u8; 4] = [b[0], b[1], b[2], b[3]];
                format!("IP:{}", std::net::Ipv4Addr::from(a))
            }
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                format!("IP:{}", std::net::Ipv6Addr::from(a))
            }
            _ => format!("IP:{}", hex_lower(b)),
        },
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        GeneralName::OtherName(oid, _) => format!("othername:{}", oid_name(oid)),
        GeneralName::RegisteredID(oid) => format!("RID:{}", oid.to_id_string()),
        GeneralName::X400Address(_) => "X400Address".into(),
        GeneralName::EDIPartyName(_) => "EDIPartyName".into(),
        GeneralName::Invalid(tag, _) => format!("invalid general name (tag {tag})"),
    }
}

/// Extended key usages (RFC 5280 4.2.1.12) by their RFC names; Microsoft's
/// Remote Desktop Authentication usage by name; others as OIDs.
fn eku_names(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut v = Vec::new();
    for (set, name) in [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ] {
        if set {
            v.push(name.to_string());
        }
    }
    for oid in &eku.other {
        let id = oid.to_id_string();
        v.push(match id.as_str() {
            "1.3.6.1.4.1.311.54.1.2" => "remoteDesktopAuthentication".to_string(),
            "1.3.6.1.4.1.311.10.3.12" => "documentSigning".to_string(),
            _ => id,
        });
    }
    v
}

/// Key algorithm and size: RSA modulus bits (counted here: x509-parser's
/// own count gives 0 for a modulus without a leading zero byte), EC curve.
fn key_summary(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    anomalies: &mut Vec<String>,
) -> (String, Option<u32>) {
    use x509_parser::public_key::PublicKey;
    let alg = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".into(), Some(unsigned_bits(rsa.modulus))),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let (name, bits) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("P-256".to_string(), Some(256)),
                Some("1.3.132.0.34") => ("P-384".to_string(), Some(384)),
                Some("1.3.132.0.35") => ("P-521".to_string(), Some(521)),
                Some("1.3.132.0.10") => ("secp256k1".to_string(), Some(256)),
                Some(o) => (o.to_string(), None),
                None => ("unnamed curve".to_string(), None),
            };
            let bits = bits.or_else(|| match point.key_size() {
                0 => None,
                n => u32::try_from(n).ok(),
            });
            (format!("EC ({name})"), bits)
        }
        Ok(PublicKey::DSA(y)) => ("DSA".into(), Some(unsigned_bits(y))),
        Ok(_) => match alg.as_str() {
            "1.3.101.112" => ("Ed25519".into(), Some(256)),
            "1.3.101.113" => ("Ed448".into(), Some(456)),
            _ => (oid_name(&spki.algorithm.algorithm), None),
        },
        Err(e) => {
            anomalies.push(format!("public key: {e}"));
            (oid_name(&spki.algorithm.algorithm), None)
        }
    }
}

/// Bit length of a big-endian unsigned integer (leading zeros ignored).
fn unsigned_bits(b: &[u8]) -> u32 {
    let mut it = b.iter().skip_while(|&&x| x == 0);
    match it.next() {
        Some(&first) => {
            let rest = it.count() as u32;
            rest * 8 + (8 - first.leading_zeros())
        }
        None => 0,
    }
}

/// Self-signed without signature verification (x509-parser's `verify`
/// feature is off): subject equals issuer, and when both key identifiers
/// are present, the authority key id equals the subject key id.
fn is_self_signed(
    cert: &x509_parser::certificate::X509Certificate<'_>,
    anomalies: &mut Vec<String>,
) -> bool {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::oid_registry::{
        OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
    };
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    let aki = match cert.get_extension_unique(&OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER) {
        Ok(Some(e)) => match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        },
        Ok(None) => None,
        Err(e) => {
            anomalies.push(format!("authorityKeyIdentifier: {e}"));
            None
        }
    };
    let ski = match cert.get_extension_unique(&OID_X509_EXT_SUBJECT_KEY_IDENTIFIER) {
        Ok(Some(e)) => match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        },
        Ok(None) => None,
        Err(e) => {
            anomalies.push(format!("subjectKeyIdentifier: {e}"));
            None
        }
    };
    match (aki, ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}
