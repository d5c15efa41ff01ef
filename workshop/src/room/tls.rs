//! The room's TLS: a private certificate authority, made for this room alone, and the
//! collector's server certificate for the instructor's addresses, signed by it.
//!
//! The CA's private key is used once, to sign the server certificate, and never written
//! anywhere: nothing else can ever be signed by it, so an attendee who trusts the room's
//! CA trusts exactly this server certificate. (A new host means a new room: `room init`
//! again, and new join files.)
//!
//! rcgen writes the certificates; its own crypto providers (ring, aws-lc-rs) compile C,
//! which the macOS check of .ci/run cannot cross-compile, so the signing is p256's (ECDSA
//! P-256 with SHA-256, pure Rust) behind rcgen's `SigningKey` trait.

use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::hosts::Host;

/// How long the certificates are valid: a workshop prepared weeks ahead still works, and
/// a room left behind stops being trusted by itself.
const VALID_FOR: Duration = Duration::days(90);

/// Laptops' clocks differ: a certificate valid from an hour ago is valid on all of them.
const CLOCK_SKEW: Duration = Duration::hours(1);

/// What `room init` writes: the CA certificate (for the join files), the server's
/// certificate and its private key (for the collector).
pub struct RoomTls {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
}

/// A new CA and a server certificate for `hosts`, valid from `now`.
pub fn issue(room: &str, hosts: &[Host], now: OffsetDateTime) -> Result<RoomTls, String> {
    let ca_key = EcKey::generate()?;
    let mut ca = params(now)?;
    ca.distinguished_name = name(&format!("ISS workshop room CA ({room})"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.key_identifier_method = key_identifier(&ca_key);
    let ca_cert = ca.self_signed(&ca_key).map_err(rcgen_error)?;

    let server_key = EcKey::generate()?;
    let mut server = params(now)?;
    server.distinguished_name = name(&hosts.first().ok_or("no host")?.to_string());
    server.subject_alt_names = hosts.iter().map(san).collect::<Result<_, _>>()?;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    let issuer = Issuer::new(ca, ca_key);
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .map_err(rcgen_error)?;

    Ok(RoomTls {
        ca_pem: ca_cert.pem(),
        server_pem: server_cert.pem(),
        server_key_pem: server_key.pkcs8_pem()?,
    })
}

/// Validity and a random serial number; the rest is set by the caller.
fn params(now: OffsetDateTime) -> Result<CertificateParams, String> {
    let mut params = CertificateParams::default();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + VALID_FOR;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| format!("the OS's random number generator: {e}"))?;
    // Positive and without a leading zero byte, so that it stays 16 bytes in DER.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn san(host: &Host) -> Result<SanType, String> {
    Ok(match host {
        Host::Ip(ip) => SanType::IpAddress(*ip),
        Host::Name(name) => SanType::DnsName(
            name.clone()
                .try_into()
                .map_err(|e| format!("host `{name}`: {e}"))?,
        ),
    })
}

/// The subject key identifier, as rcgen computes it with its own crypto: the first 20
/// bytes of the SHA-256 of the public key. (Without a provider rcgen would write an empty
/// one.) The server certificate's authority key identifier repeats it.
fn key_identifier(key: &EcKey) -> KeyIdMethod {
    let spki = rcgen::PublicKeyData::subject_public_key_info(key);
    KeyIdMethod::PreSpecified(Sha256::digest(&spki)[..20].to_vec())
}

fn rcgen_error(error: rcgen::Error) -> String {
    format!("cannot make the room's certificates: {error}")
}

/// An ECDSA P-256 key pair, as rcgen's signer.
struct EcKey {
    signing: SigningKey,
    /// The public key as an uncompressed SEC1 point: what X.509 carries.
    public: Vec<u8>,
}

impl EcKey {
    /// A new key from the OS's RNG. (p256's own `getrandom` feature would do the same,
    /// but it turns on a feature of getrandom that the services' dependencies share: every
    /// switch between the room's build and the attendees' would recompile 30 crates.)
    fn generate() -> Result<EcKey, String> {
        let signing = loop {
            let mut scalar = [0u8; 32];
            getrandom::fill(&mut scalar)
                .map_err(|e| format!("the OS's random number generator: {e}"))?;
            // Not every 256-bit number is a valid key (0, or one above the group's order:
            // odds of about 2^-32); draw again then.
            if let Ok(key) = SigningKey::from_slice(&scalar) {
                break key;
            }
        };
        let public = signing
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        Ok(EcKey { signing, public })
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), which the collector's TLS (Go) reads.
    fn pkcs8_pem(&self) -> Result<String, String> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| format!("cannot write the server's key: {e}"))
    }
}

impl rcgen::PublicKeyData for EcKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for EcKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer;
        let signature: DerSignature = self
            .signing
            .try_sign(message)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(signature.as_bytes().to_vec())
    }
}
