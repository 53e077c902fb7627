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
    /// The certificate's version as RFC 5280 4.1.2.1 numbers it: 1, 2 or
    /// 3 (the DER value plus one).
    pub version: u32,
    /// e.g. `RSA`, `EC (P-256)`.
    pub key_algorithm: String,
    /// The subjectPublicKeyInfo's algorithm identifier by its registered
    /// name (`rsaEncryption`, `id-ecPublicKey`), or dotted when unnamed.
    /// Windows' licensing certificates put a signature OID here.
    pub key_algorithm_oid: String,
    pub key_bits: Option<u32>,
    /// An RSA key's public exponent, when it fits 64 bits.
    pub key_exponent: Option<u64>,
    /// The basicConstraints extension (RFC 5280 4.2.1.9); `None` when the
    /// certificate has none.
    pub basic_constraints: Option<BasicConstraints>,
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

/// RFC 5280 4.2.1.9: whether the subject is a CA, and the longest chain
/// of CAs it may sign below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    pub ca: bool,
    pub path_len: Option<u32>,
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
    let key_exponent = rsa_exponent(cert.public_key());
    let basic_constraints = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => Some(BasicConstraints {
                ca: bc.ca,
                path_len: bc.path_len_constraint,
            }),
            _ => None,
        });
    let signature_algorithm = signature_name(&cert.signature_algorithm.algorithm);
    if cert.signature_algorithm.algorithm != cert.tbs_certificate.signature.algorithm {
        anomalies.push(format!(
            "signature algorithm {} differs from the one in the signed part ({})",
            signature_algorithm,
            signature_name(&cert.tbs_certificate.signature.algorithm)
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
        version: cert.version().0 + 1,
        key_algorithm,
        key_algorithm_oid: oid_name(&cert.public_key().algorithm.algorithm),
        key_bits,
        key_exponent,
        basic_constraints,
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
        GeneralName::IPAddress(b) => {
            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                format!("IP:{}", std::net::Ipv4Addr::from(a))
            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                format!("IP:{}", std::net::Ipv6Addr::from(a))
            } else {
                format!("IP:{}", hex_lower(b))
            }
        }
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
            _ => misfiled_rsa(spki, anomalies)
                .unwrap_or_else(|| (oid_name(&spki.algorithm.algorithm), None)),
        },
        Err(e) => {
            anomalies.push(format!("public key: {e}"));
            (oid_name(&spki.algorithm.algorithm), None)
        }
    }
}

/// The public exponent of an RSA key, also one filed under a signature
/// OID (see [`misfiled_rsa`]); `None` for other keys or an exponent wider
/// than 64 bits.
fn rsa_exponent(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Option<u64> {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::RSAPublicKey;
    if !spki
        .algorithm
        .algorithm
        .to_id_string()
        .starts_with("1.2.840.113549.1.1.")
    {
        return None;
    }
    let (_, rsa) = RSAPublicKey::from_der(&spki.subject_public_key.data).ok()?;
    let e = rsa.exponent;
    let e = &e[e.iter().take_while(|&&b| b == 0).count()..];
    (e.len() <= 8).then(|| e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// An RSA key filed under a PKCS #1 signature OID instead of
/// rsaEncryption: Windows' Terminal Server licensing certificates (the
/// X.509 chain of Standard RDP Security) use md5WithRSAEncryption there.
fn misfiled_rsa(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    anomalies: &mut Vec<String>,
) -> Option<(String, Option<u32>)> {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::RSAPublicKey;
    let alg = spki.algorithm.algorithm.to_id_string();
    if !alg.starts_with("1.2.840.113549.1.1.") {
        return None;
    }
    let (_, rsa) = RSAPublicKey::from_der(&spki.subject_public_key.data).ok()?;
    anomalies.push(format!(
        "RSA public key labelled {} instead of rsaEncryption",
        oid_name(&spki.algorithm.algorithm)
    ));
    Some(("RSA".into(), Some(unsigned_bits(rsa.modulus))))
}

/// Signature algorithm names as openssl prints them where the registry
/// differs (the OIW OID 1.3.14.3.2.29 is not PKCS #1's
/// sha1WithRSAEncryption, though the algorithm is the same).
fn signature_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    match oid.to_id_string().as_str() {
        "1.3.14.3.2.29" => "sha1WithRSA".into(),
        "1.3.14.3.2.3" => "md5WithRSA".into(),
        _ => oid_name(oid),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// zeek/rdp-to-ssl.pcap: the server's self-signed RDP certificate.
    const RDP_TO_SSL_CERT: &str = concat!(
        "308202fa308201e2a003020102021016ed2aa0495f259d4f5d99edada570d1300d06092a864886f70d01010505003026",
        "312430220603550403131b57494e324b3852322e6177616b65636f64696e672e6174682e6378301e170d313130323132",
        "3231333733355a170d3231303231323030303030305a3026312430220603550403131b57494e324b3852322e6177616b",
        "65636f64696e672e6174682e637830820122300d06092a864886f70d01010105000382010f003082010a0282010100fb",
        "55c684d0ee3a06ddbbbe86b33ffa8494d047fe4e794e576e5f8a29819bf7b2f47bcd14d33818bd54ac62c9ad3ec9cde2",
        "3d2838dd8d4062032597e04f15d3351901498fbd67ae1e23d019734ac54c29a85f889ce11b33f0dfb197cf497532b21c",
        "ee9d85d81ee8d1eef5d444c78442506b7310704c33db5287fcc9f0d7f0fcb8bedf9e5542228092e876665d331f353c6e",
        "4e3abb5dd8d6aa59d23d7bdb06ba10ff4d6e575d9adbb3776ff5e0e1df4ec24fde665f88bee40e731a39a02036d607d1",
        "27bdae1181aa5b7b99715bfdbbf55f4149da451d57e3a205311c75b673dd04e77bedc63a00bdb7837344f2fd3b2ae58d",
        "b51963e02aa715aa42e3a3d5def1970203010001a3243022300b0603551d0f04040302043030130603551d25040c300a",
        "06082b06010505070301300d06092a864886f70d010105050003820101007c430c5abb0c7218c2bb3820a68af5995b58",
        "8a445160ed4082238382ed517c69b9cadc358dc9d07921cdbdf34b3f8057c83523ff952ad201a8b6305065c46a5526d6",
        "d7a41834768d9d5c7399f4bc3fdfe31dbd1b7f1c7db02f50b448384b0ae83583aae53051cbc2616587ae857747f5d1cc",
        "ec8983850e8beb252f25fa3535509fbd3672a3f6eee6b3e89936cc884485782fdcfdb9dd6b8e40e7586423de429ebaf5",
        "008da53755e6593b0fad9b0213fc8e49aee922b09c768e354de12a14a07e429e019ab8acd092a7c7858f43d88cd1308a",
        "a6f41a06348423e19289a536e1697557433fedc07576192259d1cd2875daf50238d25ac323742c40c7f1f1addf6c",
    );
    /// zeek/rdp-rdpeudp-handshake-fail.pcap: CN=dc.windomain.local.
    const EUDP_CERT: &str = concat!(
        "308202e8308201d0a00302010202103e9748c0ef910f814a2e5862e8ce1d71300d06092a864886f70d01010b0500301d",
        "311b30190603550403131264632e77696e646f6d61696e2e6c6f63616c301e170d3139313132323136313130335a170d",
        "3230303532333136313130335a301d311b30190603550403131264632e77696e646f6d61696e2e6c6f63616c30820122",
        "300d06092a864886f70d01010105000382010f003082010a0282010100d95a6cf771aa3310d3d9bd0c673d58773be0fb",
        "03d6e80f7a46e3693cc929921f358b32b90002291f1f0f2981fe96a248b78bd7a263aaeb9faaf7c53bd6e299fe40da42",
        "0e3afcb0a8904b34fed7be845cd3574104e91ffff2fc22fa2b5c05c9f6f9a5e2cb90b6c3cbc8df5c0ae028677bb275c0",
        "11ff89fb5844c3219ca459c08573bd6b0d62bbd8c2205cad89bdc09c83c9eb1a736bfa90e1eb6647ac294113b4f0ba6b",
        "f315f0fc1ef748f62cacda953b6e1827cbec4273d942dec02ef7efafef51f51049123cdeef27d727efe705eb5dfb07e4",
        "40c193e95d36c8d72175936fb6d6e37f1a938fb1657290801398d2b7bd1303cf5a2bf545650f87fc5810c3a035020301",
        "0001a324302230130603551d25040c300a06082b06010505070301300b0603551d0f040403020430300d06092a864886",
        "f70d01010b05000382010100832f55094ea6b41a487ebeadcd839463a32b535faf61b3d2ad3b794481c3edf21c624ee2",
        "2ed96de2e06496db69617060aaabb89aa35d919d1c3823f555eb6ef568c1b7e06ee02c553ed3381746e52ded9af5d44e",
        "3dd9d9c9b98a997ad5fade49011ac6c639f5f1378ba5a813cf0ef914a3883bc6cf5021777a62e986e145e3c844422fb4",
        "8c347df99fef34307ff09c9339787b507413c88a6087b169a50f0f0f392cad37a0c2493534ca72b1a1afa491634bcf41",
        "9a94eaa34090aed34fded3a38c7db3beb291075be6a0fb7d0c976252f58de2668e80e4f8bbd2b5e3a3b25519be161fa5",
        "f800efff8d74a1c4e8b9fdacd1bde0d1a09afd95866a84285e144e6d",
    );
    /// suricata-verify/tls-pre-1970-input.pcap: notBefore 1969-12-31, empty
    /// subjectAltName.
    const PRE_1970_CERT: &str = concat!(
        "30820414308202fca003020102020132300d06092a864886f70d01010b0500308183310b3009060355040613024b5231",
        "123010060355040813094b79756e676769646f310e300c060355040713055375776f6e311c301a060355040a13135361",
        "6d73756e6720456c656374726f6e6963733111300f060355040b13085357322053495343311f301d0603550403141652",
        "4f4f54204341205349534320464b50325f504c5553301e170d3639313233313030303030305a170d3338313233313030",
        "313030335a3034310b3009060355040b13027664312530230603550403131c666b702e73616d73756e67636c6f756473",
        "6f6c7574696f6e2e636f6d30820122300d06092a864886f70d01010105000382010f003082010a0282010100ad55092e",
        "439197fe1e7ed5e9a516575472946dd9595f5eadfa1e6a0bf2d9a5c9c885a424f2c903a7a27bc5dd604228ef554e300e",
        "7daf2de346e8543eb5f5fbaeb9b16d00290b9a0723d21d3b6a610aca1714a037783309378c7ac03e0c372b86ddd07cda",
        "00eb589177d56c5f816b33cea57ced9e37d2cb0ba67c12dda7dd52047caff6a17cd6d75e6072f2322e1419e693ac4d1e",
        "2fe05aed2c01d8af7422b248fb1c9a22ad17b89022df5d43b4c9922fbd3dab4e4c7f6e8de3a55077f6ba69a7e5396154",
        "a99133aa5f372e219f38a6f771a2283f35259719e27033c1c8b6141a5d8705181f270f13747e368e8b98a6c6d86a7f26",
        "5a6088237d52243fd9d7945b0203010001a381e03081dd300c0603551d13040530030101ff301d0603551d0e04160414",
        "dbca8a146454de2449504b0a2c8afc37d01f80883081a20603551d2304819a308197a18189a48186308183310b300906",
        "0355040613024b5231123010060355040813094b79756e676769646f310e300c060355040713055375776f6e311c301a",
        "060355040a131353616d73756e6720456c656374726f6e6963733111300f060355040b13085357322053495343311f30",
        "1d06035504031416524f4f54204341205349534320464b50325f504c5553820900e7b3df1a34ad608b30090603551d11",
        "04023000300d06092a864886f70d01010b0500038201010091cb784d30bcfbcc057d7ca3a690a1832f18719d789f5650",
        "f44ec5b9d18c98dfa42b3e75ebf5d75a44a274ed73034119935681bfc9283c05e2dd047ef8225fb61bfe45cb0fcbf80c",
        "55b6d86eaf8d8c7c5771be7c3282a96d40f658474b7eeb7703b69343aea57666e6151cb3ef58ea6dbdfc8170fd2b95cc",
        "4645fecc99dd7a4d58a4e5b753d2083df79231e16568c1d263406491b7decbdc43e9fc422a885a8c43fcc82617cabcbf",
        "f4a4f3ff32d4d7fd4873cc426fd8c63156cc36455f18c567cc644547828ca86f5785cddd0e58fba8c6ef82e6e0b36f27",
        "301f2783c28c77d1b1e845dfc8a5b312ff38fc23894b0c01293c5f85502e7a97e8543eea05916f35",
    );
    /// Built with `openssl req -x509 -newkey ec -pkeyopt
    /// ec_paramgen_curve:P-256 -subj /CN=rdp.example.test -set_serial 0x1234
    /// -addext subjectAltName=DNS:rdp.example.test,IP:192.0.2.10 -addext
    /// extendedKeyUsage=serverAuth,1.3.6.1.4.1.311.54.1.2`.
    const EC_CERT: &str = concat!(
        "308201bf30820165a00302010202021234300a06082a8648ce3d040302301b3119301706035504030c107264702e6578",
        "616d706c652e74657374301e170d3236313132313139353833385a170d3236313232313139353833385a301b31193017",
        "06035504030c107264702e6578616d706c652e746573743059301306072a8648ce3d020106082a8648ce3d0301070342",
        "00041239497839acfa6649eb0109b46800fd2d9a8b075e349f142a2d88f78bf94330ab9e39ff7dc0841856e252b6ee91",
        "5e47f7336c47d628ed774722b61589c9c7bea38198308195301d0603551d0e04160414d3cc8f92bda69e5e2058bff9e8",
        "3498f8c16f3c4c301f0603551d23041830168014d3cc8f92bda69e5e2058bff9e83498f8c16f3c4c300f0603551d1301",
        "01ff040530030101ff30210603551d11041a301882107264702e6578616d706c652e746573748704c000020a301f0603",
        "551d250418301606082b06010505070301060a2b060104018237360102300a06082a8648ce3d04030203480030450220",
        "52b3596c9b3ea69e58ba36ead941ee4b5d0405df79fe4ac1dc015ef9af3886ad022100d69df6e9ca2b64c851dd5f68fd",
        "516d90a7d30fcce6b6b90212e7c8f1f2ddc7a5",
    );
    /// EC_CERT with its subjectAltName extension appended a second time
    /// (TBS re-encoded; the signature no longer matches).
    const DUP_EXT_CERT: &str = concat!(
        "308201e230820188a00302010202021234300a06082a8648ce3d040302301b3119301706035504030c107264702e6578",
        "616d706c652e74657374301e170d3236313132313139353833385a170d3236313232313139353833385a301b31193017",
        "06035504030c107264702e6578616d706c652e746573743059301306072a8648ce3d020106082a8648ce3d0301070342",
        "00041239497839acfa6649eb0109b46800fd2d9a8b075e349f142a2d88f78bf94330ab9e39ff7dc0841856e252b6ee91",
        "5e47f7336c47d628ed774722b61589c9c7bea381bb3081b8301d0603551d0e04160414d3cc8f92bda69e5e2058bff9e8",
        "3498f8c16f3c4c301f0603551d23041830168014d3cc8f92bda69e5e2058bff9e83498f8c16f3c4c300f0603551d1301",
        "01ff040530030101ff30210603551d11041a301882107264702e6578616d706c652e746573748704c000020a301f0603",
        "551d250418301606082b06010505070301060a2b06010401823736010230210603551d11041a301882107264702e6578",
        "616d706c652e746573748704c000020a300a06082a8648ce3d0403020348003045022052b3596c9b3ea69e58ba36ead9",
        "41ee4b5d0405df79fe4ac1dc015ef9af3886ad022100d69df6e9ca2b64c851dd5f68fd516d90a7d30fcce6b6b90212e7",
        "c8f1f2ddc7a5",
    );

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    // Expected values from `openssl x509 -inform der -noout -text
    // -fingerprint -sha1` and `openssl dgst -sha256` on the same DER
    // (extracted with `tshark -T fields -e tls.handshake.certificate`).

    /// `openssl req -x509 -newkey ec -addext basicConstraints=critical,CA:TRUE,pathlen:2`:
    /// openssl x509 -text shows Version: 3, id-ecPublicKey, CA:TRUE, pathlen:2.
    const CA_PATHLEN_CERT: &str = concat!(
        "3082018c30820132a003020102021403ce46d292ba6fd78009aa84ff8452b98d1a0834300a06082a8648ce3d04030230",
        "1a3118301606035504030c0f63612e6578616d706c652e74657374301e170d3236313230353130343330345a170d3336",
        "313230323130343330345a301a3118301606035504030c0f63612e6578616d706c652e746573743059301306072a8648",
        "ce3d020106082a8648ce3d030107034200044736d31dc0e6e2245d09191ec1b3e6e44d6b3f0263ae1c96a07539d52d7e",
        "c065972c2097c6090eb07d77d4a1bfaa1e54cd009ce5ed157e5e0477162889498506a3563054301d0603551d0e041604",
        "14a2bc1cd386f266ccb5809e01a032c565c601489f301f0603551d23041830168014a2bc1cd386f266ccb5809e01a032",
        "c565c601489f30120603551d130101ff040830060101ff020102300a06082a8648ce3d0403020348003045022100932a",
        "f166b53ef5cdab524cb6aa4ed58406b1a55ad7cbe0793e3b72d1155dc5cc02205133925001ef2b8a6b33f240efaf201f",
        "6f65a7c06ee44890b4569867146b6d13",
    );

    /// `openssl genrsa -3 1024` signed by `openssl x509 -req` with no extensions:
    /// openssl x509 -text shows Version: 1, rsaEncryption, Exponent: 3.
    const V1_RSA_E3_CERT: &str = concat!(
        "308201b43082011d021418ddb46cc79c1bc600d6cbb67a05b31ef14e4731300d06092a864886f70d01010b0500301a31",
        "18301606035504030c0f76312e6578616d706c652e74657374301e170d3236313230353130343330345a170d32373031",
        "30343130343330345a301a3118301606035504030c0f76312e6578616d706c652e7465737430819d300d06092a864886",
        "f70d010101050003818b0030818702818100cca21aaae991eaa710f5784943e97690dcf5aeced28f6dee97910390192a",
        "fd625dd5d0653569030ea4139af68eb6d09dd70ddb52f128a997f2cc9be4eec4555ab2245b473ccd3e6d404768a13987",
        "cceba587ca5635298f73d8a88cd1c2bb5df117e98311aaacc905dc7f93e0dffc3281167f24ef4bdb86225572d15867c2",
        "59ab020103300d06092a864886f70d01010b050003818100775c6176569f6abcdb1767cb87061372a27ce6e1685b192f",
        "c581b918b3ad8bc4db4c30debcb856fbe001a62a7ac3accb91463ea7c94accd2774215b834b4c00d1b209fad8f42b3a9",
        "aac6f8b04e424cee11c2aec1c7508bdc2d8e5ced93985c1749dff9350631b3969bf34931dc71512f9f36e941b8d56a10",
        "ffac434aa5714390",
    );

    #[test]
    fn version_key_algorithm_exponent_and_basic_constraints() {
        let ca = summarize(&hex(CA_PATHLEN_CERT)).unwrap();
        assert_eq!(ca.version, 3);
        assert_eq!(ca.key_algorithm_oid, "id-ecPublicKey");
        assert_eq!(ca.key_exponent, None);
        assert_eq!(
            ca.basic_constraints,
            Some(BasicConstraints {
                ca: true,
                path_len: Some(2)
            })
        );
        let v1 = summarize(&hex(V1_RSA_E3_CERT)).unwrap();
        assert_eq!(v1.version, 1);
        assert_eq!(v1.key_algorithm_oid, "rsaEncryption");
        assert_eq!(v1.key_exponent, Some(3));
        assert_eq!(v1.key_bits, Some(1024));
        assert_eq!(v1.basic_constraints, None);
        // zeek/rdp-to-ssl.pcap's certificate: openssl shows Version: 3
        // and Exponent: 65537, and no basic constraints.
        let w = summarize(&hex(RDP_TO_SSL_CERT)).unwrap();
        assert_eq!((w.version, w.key_exponent), (3, Some(65537)));
        assert_eq!(w.basic_constraints, None);
    }

    #[test]
    fn windows_rdp_self_signed_certificate() {
        let c = summarize(&hex(RDP_TO_SSL_CERT)).unwrap();
        assert_eq!(c.subject, "CN=WIN2K8R2.awakecoding.ath.cx");
        assert_eq!(c.issuer, c.subject);
        assert!(c.self_signed);
        assert_eq!(c.serial, "16ed2aa0495f259d4f5d99edada570d1");
        // notBefore=Feb 12 21:37:35 2011 GMT, notAfter=Feb 12 00:00:00 2021 GMT
        assert_eq!(c.not_before, 1_297_546_655);
        assert_eq!(c.not_after, 1_613_088_000);
        assert_eq!(c.key_algorithm, "RSA");
        assert_eq!(c.key_bits, Some(2048));
        assert_eq!(c.signature_algorithm, "sha1WithRSAEncryption");
        assert_eq!(c.extended_key_usage, ["serverAuth"]);
        assert_eq!(c.sha1, "00ABBC7A0DCA04571CB2AB4BB0DC652775F9E20C");
        assert_eq!(
            c.sha256,
            "a5b05d2ae076130aa41060f53ecd72bdf864ea0179250e927549c94d5ab2499a"
        );
        assert!(c.sans.is_empty());
        assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    }

    #[test]
    fn sha256_rdp_certificate() {
        let c = summarize(&hex(EUDP_CERT)).unwrap();
        assert_eq!(c.subject, "CN=dc.windomain.local");
        assert!(c.self_signed);
        assert_eq!(c.serial, "3e9748c0ef910f814a2e5862e8ce1d71");
        // Nov 22 16:11:03 2019 GMT .. May 23 16:11:03 2020 GMT
        assert_eq!(c.not_before, 1_574_439_063);
        assert_eq!(c.not_after, 1_590_250_263);
        assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
        assert_eq!(c.key_bits, Some(2048));
        assert_eq!(c.sha1, "0DCD3E9ED54CDD400E26F2F51A49000A09A343EB");
        assert_eq!(
            c.sha256,
            "af179cdb65f51b033a7c40e3621edd66e362896b3863c72676d22cfb6c72bd72"
        );
    }

    #[test]
    fn certificate_dated_before_1970() {
        let c = summarize(&hex(PRE_1970_CERT)).unwrap();
        assert_eq!(c.subject, "OU=vd, CN=fkp.samsungcloudsolution.com");
        assert_eq!(
            c.issuer,
            "C=KR, ST=Kyunggido, L=Suwon, O=Samsung Electronics, OU=SW2 SISC, CN=ROOT CA SISC FKP2_PLUS"
        );
        assert!(!c.self_signed);
        assert_eq!(c.serial, "32");
        // notBefore=Dec 31 00:00:00 1969 GMT: negative.
        assert_eq!(c.not_before, -86_400);
        // notAfter=Dec 31 00:10:03 2038 GMT
        assert_eq!(c.not_after, 2_177_367_003);
        assert_eq!(c.sha1, "71CDFE087F3D2A18326938FABD647BC6CFCC448E");
        // openssl shows the subjectAltName as <EMPTY>.
        assert_eq!(c.anomalies, ["empty subjectAltName extension"]);
    }

    #[test]
    fn ec_certificate_with_sans_and_rdp_usage() {
        let c = summarize(&hex(EC_CERT)).unwrap();
        assert_eq!(c.key_algorithm, "EC (P-256)");
        assert_eq!(c.key_bits, Some(256));
        assert_eq!(c.signature_algorithm, "ecdsa-with-SHA256");
        assert_eq!(c.sans, ["DNS:rdp.example.test", "IP:192.0.2.10"]);
        assert_eq!(
            c.extended_key_usage,
            ["serverAuth", "remoteDesktopAuthentication"]
        );
        assert_eq!(c.serial, "1234");
        assert!(c.self_signed); // subject == issuer, AKI == SKI
        assert_eq!(c.sha1, "7D32ADBB5FA790D85A03E432D6C4E02BA621F0E8");
        assert!(c.anomalies.is_empty());
    }

    #[test]
    fn duplicate_extension_is_an_anomaly_not_a_failure() {
        let c = summarize(&hex(DUP_EXT_CERT)).unwrap();
        assert_eq!(c.anomalies, ["duplicate extension subjectAltName"]);
        assert_eq!(c.sans, ["DNS:rdp.example.test", "IP:192.0.2.10"]);
        assert_eq!(c.subject, "CN=rdp.example.test");
    }

    #[test]
    fn every_truncation_is_an_error() {
        for v in [hex(RDP_TO_SSL_CERT), hex(EC_CERT), hex(PRE_1970_CERT)] {
            for cut in 0..v.len() {
                assert!(summarize(&v[..cut]).is_err(), "cut {cut}");
            }
        }
        assert!(summarize(b"not a certificate").is_err());
        // Trailing bytes: summarised, and the hashes cover the certificate
        // only.
        let mut v = hex(EC_CERT);
        v.extend([0, 0]);
        let c = summarize(&v).unwrap();
        assert_eq!(c.sha1, "7D32ADBB5FA790D85A03E432D6C4E02BA621F0E8");
        assert_eq!(c.anomalies, ["2 bytes after the certificate"]);
    }

    #[test]
    fn helpers() {
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0]), 16);
        assert_eq!(unsigned_bits(&[0x01, 0xff]), 9);
        assert_eq!(unsigned_bits(&[0, 0]), 0);
        assert_eq!(serial_hex(&[0x00, 0x85, 0x6a]), "856a");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    /// zeek/rdp-x509.pcap, server stream offset 184: first certificate of
    /// the X.509 chain in the GCC server security data (Standard RDP
    /// Security, dwVersion 0x80000002).
    const GCC_ROOT_CERT: &str = concat!(
        "3082015b30820109a003020102020859eb28cb02b1a0d4300906052b0e03021d0500302c312a301106035504031e0a00",
        "530045005200560052301506035504071e0e005400550052004e0042004b004c301e170d313530323131313431353036",
        "5a170d3135303531323030303030305a302c312a301106035504031e0a00530045005200560052301506035504071e0e",
        "005400550052004e0042004b004c305c300d06092a864886f70d0101010500034b003048024100d31474f69f983d5577",
        "57f6680d765c1965f19f8b7d31a605a2aa3b47e14ba9d01a3fce1780402e77838f7bb5e47be12c18eefcc3e277ffd9d6",
        "936ad6ce9809fd0203010001a3133011300f0603551d13040830060101ff020100300906052b0e03021d05000341008a",
        "9264745d17d5003e74c9039a10e0c1f3ae56d8ef0f5523cda88209f56bdad26a18caa9b2a1d12a7aee6b57858a3a07aa",
        "fb116c5fb9feff7592abaa02feac9c",
    );
    /// zeek/rdp-x509.pcap, server stream offset 539: the Terminal Server
    /// licensing leaf, its RSA key filed under md5WithRSAEncryption.
    const GCC_LEAF_CERT: &str = concat!(
        "308203613082030fa00302010202050100000001300906052b0e03021d0500302c312a301106035504031e0a00530045",
        "005200560052301506035504071e0e005400550052004e0042004b004c301e170d3133303430353135313535355a170d",
        "3136313233313233353935395a30818e31818b302106035504031e1a006e00630061006c007200700063003a00530045",
        "005200560052302106035504071e1a006e00630061006c007200700063003a0053004500520056005230430603550405",
        "1e3c003100420063004b006500660059005300460039003700450076006b006100690043007100610068005000590038",
        "0075005000640030003d000d000a305c300d06092a864886f70d0101040500034b003048024100f22d4e9a36ed8f6844",
        "49ede380f86db3fc0360ad644dc4e3a5d200e9247b92efa8657610e7fbe2256f46837c33d8620ccbb366963b13c6772b",
        "60428cb221acc70203010001a38201b7308201b3301406092b06010401823712040101ff040401000500303c06092b06",
        "010401823712020101ff042c4d006900630072006f0073006f0066007400200043006f00720070006f00720061007400",
        "69006f006e0000003081cd06092b06010401823712050101ff0481bc003000000100000002000000090400001c004a00",
        "66004a00b0000100330064003200360037003900350034002d0065006500630037002d0031003100640031002d006200",
        "3900340065002d0030003000640030003400660061003300300038003000640000003300640032003600370039003500",
        "34002d0064006500610037002d0031003200640031002d0062003900340065002d003000300063003000340066006100",
        "330030003800300064000000000000100080d40000000000306806092b06010401823712060101ff0458003000000000",
        "0c003c00530045005200560052000000360039003700310033002d003000310032002d00340037003000310037003600",
        "33002d003400340037003500310000005400550052004e0042004b004c000000000030230603551d230101ff04193017",
        "a10ea40c53004500520056005200000082050100000001300906052b0e03021d0500034100aad15319b38adaf8857735",
        "cc8a23af10d4c0c2407ca60092163e4e65e38331c22395ecbe98581f61d9924279fa483f72aa4064c01d34016491ee23",
        "7ce26bcce3",
    );

    #[test]
    fn terminal_server_chain_from_gcc() {
        // openssl: serial 0x59eb28cb02b1a0d4, Feb 11 14:15:06 2015 GMT ..
        // May 12 00:00:00 2015 GMT, sha1WithRSA (OIW), 512-bit RSA.
        let root = summarize(&hex(GCC_ROOT_CERT)).unwrap();
        assert_eq!(root.subject, "CN=SERVR + L=TURNBKL");
        assert!(root.self_signed);
        assert_eq!(root.serial, "59eb28cb02b1a0d4");
        assert_eq!(
            (root.not_before, root.not_after),
            (1_423_664_106, 1_431_388_800)
        );
        assert_eq!(root.signature_algorithm, "sha1WithRSA");
        assert_eq!(
            (root.key_algorithm.as_str(), root.key_bits),
            ("RSA", Some(512))
        );
        assert_eq!(root.sha1, "D54B6E4AAED2CF8235F3BA671EE77D31B2929014");
        // openssl cannot read this key ("md5WithRSAEncryption"); it is RSA.
        let leaf = summarize(&hex(GCC_LEAF_CERT)).unwrap();
        assert_eq!(leaf.issuer, root.subject);
        assert!(!leaf.self_signed);
        assert_eq!(leaf.serial, "0100000001");
        // Apr  5 15:15:55 2013 GMT .. Dec 31 23:59:59 2016 GMT
        assert_eq!(
            (leaf.not_before, leaf.not_after),
            (1_365_174_955, 1_483_228_799)
        );
        assert_eq!(
            (leaf.key_algorithm.as_str(), leaf.key_bits),
            ("RSA", Some(512))
        );
        assert_eq!(leaf.sha1, "6CA27390D0C4050C09710B37CD8080D6071FBB1A");
        assert_eq!(
            leaf.anomalies,
            ["RSA public key labelled md5WithRSAEncryption instead of rsaEncryption"]
        );
    }

    proptest::proptest! {
        #[test]
        fn corrupted_certificates_never_panic(pos in 0usize..451, val: u8) {
            let mut v = hex(EC_CERT);
            if let Some(b) = v.get_mut(pos) {
                *b = val;
            }
            let _ = summarize(&v);
        }
    }
}
