//! RSA as go-libp2p uses it for legacy keys: PKIX DER public keys and PKCS#1 v1.5 signatures
//! over SHA-256, verified with a small constant-exponent Montgomery modpow.

use super::*;

/// go-libp2p refuses RSA keys outside these sizes (`MinRsaKeyBits`, `maxRsaKeyBits`).
pub(super) const MIN_RSA_BITS: usize = 2048;
pub(super) const MAX_RSA_BITS: usize = 8192;
/// DER of AlgorithmIdentifier OID rsaEncryption (1.2.840.113549.1.1.1).
pub(super) const RSA_ENCRYPTION_OID: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// DER DigestInfo prefix for SHA-256 (RFC 8017 section 9.2 note 1).
pub(super) const SHA256_DIGEST_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// An RSA public key: modulus as little-endian 64-bit limbs, public exponent.
pub(super) struct RsaPublicKey {
    pub(super) modulus: Vec<u64>,
    pub(super) exponent: u32,
    pub(super) modulus_len: usize,
}

impl RsaPublicKey {
    /// Parses a DER SubjectPublicKeyInfo with an rsaEncryption key, as Go's
    /// `x509.ParsePKIXPublicKey` does (NULL parameters required, minimal DER).
    pub(super) fn from_pkix_der(der: &[u8]) -> IpnsResult<Self> {
        let bad = |what: &'static str| IpnsError::new(IpnsErrorKind::PublicKey, what);
        let mut outer_pos = 0;
        let spki =
            der_read(der, &mut outer_pos, 0x30).ok_or(bad("RSA key is not a DER SEQUENCE"))?;
        if outer_pos != der.len() {
            return Err(bad("trailing bytes after RSA key"));
        }
        let mut pos = 0;
        let algorithm = der_read(spki, &mut pos, 0x30).ok_or(bad("RSA key lacks an algorithm"))?;
        let bit_string = der_read(spki, &mut pos, 0x03).ok_or(bad("RSA key lacks a BIT STRING"))?;
        if pos != spki.len() {
            return Err(bad("trailing bytes in RSA SubjectPublicKeyInfo"));
        }
        let mut alg_pos = 0;
        let oid =
            der_read(algorithm, &mut alg_pos, 0x06).ok_or(bad("RSA algorithm lacks an OID"))?;
        let params =
            der_read(algorithm, &mut alg_pos, 0x05).ok_or(bad("RSA algorithm lacks NULL"))?;
        if oid != RSA_ENCRYPTION_OID || !params.is_empty() || alg_pos != algorithm.len() {
            return Err(IpnsError::new(
                IpnsErrorKind::UnsupportedKeyType,
                "PKIX key is not rsaEncryption",
            ));
        }
        let [0, rsa_key @ ..] = bit_string else {
            return Err(bad("RSA BIT STRING has unused bits"));
        };
        let mut key_pos = 0;
        let sequence =
            der_read(rsa_key, &mut key_pos, 0x30).ok_or(bad("RSAPublicKey is not a SEQUENCE"))?;
        if key_pos != rsa_key.len() {
            return Err(bad("trailing bytes after RSAPublicKey"));
        }
        let mut int_pos = 0;
        let modulus = der_positive_integer(sequence, &mut int_pos).ok_or(bad("bad RSA modulus"))?;
        let exponent =
            der_positive_integer(sequence, &mut int_pos).ok_or(bad("bad RSA exponent"))?;
        if int_pos != sequence.len() {
            return Err(bad("trailing bytes in RSAPublicKey"));
        }
        let bits = modulus.len() * 8 - modulus[0].leading_zeros() as usize;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(bad("RSA modulus size outside 2048..=8192 bits"));
        }
        if modulus[modulus.len() - 1] & 1 == 0 {
            return Err(bad("RSA modulus is even"));
        }
        // Go's rsa package: 2 <= E <= 2^31 - 1.
        if exponent.len() > 4 {
            return Err(bad("RSA exponent too large"));
        }
        let exponent = exponent
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        if !(2..=0x7fff_ffff).contains(&exponent) {
            return Err(bad("RSA exponent out of range"));
        }
        Ok(RsaPublicKey {
            modulus: limbs_from_be(modulus, modulus.len().div_ceil(8)),
            exponent,
            modulus_len: modulus.len(),
        })
    }

    /// RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 section 8.2.2), as go-libp2p's
    /// `RsaPublicKey.Verify`: the signature is exactly the modulus length and below it, and
    /// the recovered encoding equals `00 01 FF… 00 DigestInfo(SHA-256(message))` exactly.
    pub(super) fn verify_pkcs1v15_sha256(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        let k = self.modulus_len;
        if signature.len() != k || k < SHA256_DIGEST_INFO.len() + 32 + 11 {
            return false;
        }
        let limbs = self.modulus.len();
        let s = limbs_from_be(signature, limbs);
        if compare_limbs(&s, &self.modulus) != Ordering::Less {
            return false;
        }
        let m = modpow(&s, self.exponent, &self.modulus);
        let recovered = limbs_to_be(&m, k);

        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let padding_end = k - SHA256_DIGEST_INFO.len() - 32 - 1;
        recovered[0] == 0
            && recovered[1] == 1
            && recovered[2..padding_end].iter().all(|&b| b == 0xff)
            && recovered[padding_end] == 0
            && recovered[padding_end + 1..k - 32] == *SHA256_DIGEST_INFO
            && recovered[k - 32..] == digest[..]
    }
}

/// Reads one DER TLV with the given tag at `*pos` (definite, minimally encoded length).
pub(super) fn der_read<'a>(input: &'a [u8], pos: &mut usize, tag: u8) -> Option<&'a [u8]> {
    let rest = input.get(*pos..)?;
    let [found_tag, first_len, rest @ ..] = rest else {
        return None;
    };
    if *found_tag != tag {
        return None;
    }
    let (len, header) = if *first_len < 0x80 {
        (usize::from(*first_len), 2)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        // DER: long form only for lengths >= 128, without leading zero bytes.
        if len < 0x80 || rest[0] == 0 {
            return None;
        }
        (len, 2 + count)
    };
    let start = *pos + header;
    let end = start.checked_add(len)?;
    let value = input.get(start..end)?;
    *pos = end;
    Some(value)
}

/// Reads a DER INTEGER that must be positive; returns its magnitude without the sign byte.
pub(super) fn der_positive_integer<'a>(input: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let value = der_read(input, pos, 0x02)?;
    match value {
        [] => None,
        [first, ..] if first & 0x80 != 0 => None, // negative
        [0] => None,                              // zero
        [0, second, ..] if second & 0x80 == 0 => None, // non-minimal
        [0, rest @ ..] => Some(rest),
        _ => Some(value),
    }
}

/// Big-endian bytes to `limbs` little-endian 64-bit limbs (bytes must fit).
pub(super) fn limbs_from_be(bytes: &[u8], limbs: usize) -> Vec<u64> {
    let mut out = vec![0u64; limbs];
    for (i, &byte) in bytes.iter().rev().enumerate() {
        if let Some(limb) = out.get_mut(i / 8) {
            *limb |= u64::from(byte) << (8 * (i % 8));
        }
    }
    out
}

/// Little-endian limbs to exactly `len` big-endian bytes (high bytes beyond `len` dropped;
/// callers pass values below a `len`-byte modulus).
pub(super) fn limbs_to_be(limbs: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        if let Some(limb) = limbs.get(i / 8) {
            *byte = (limb >> (8 * (i % 8))) as u8;
        }
    }
    out
}

pub(super) fn compare_limbs(a: &[u64], b: &[u64]) -> Ordering {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        match x.cmp(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// `a -= b`, returning the borrow.
pub(super) fn sub_limbs(a: &mut [u64], b: &[u64]) -> bool {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
    borrow
}

/// Montgomery multiplication (CIOS): `out = a * b / R mod n`, R = 2^(64·limbs), for odd n and
/// a, b < n. `scratch` holds limbs + 2 words.
pub(super) fn mont_mul(
    a: &[u64],
    b: &[u64],
    n: &[u64],
    n0_inv: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let limbs = n.len();
    scratch.fill(0);
    for &b_i in b {
        let mut carry = 0u64;
        for j in 0..limbs {
            let sum =
                u128::from(scratch[j]) + u128::from(a[j]) * u128::from(b_i) + u128::from(carry);
            scratch[j] = sum as u64;
            carry = (sum >> 64) as u64;
        }
        let sum = u128::from(scratch[limbs]) + u128::from(carry);
        scratch[limbs] = sum as u64;
        scratch[limbs + 1] = (sum >> 64) as u64;

        let m = scratch[0].wrapping_mul(n0_inv);
        let sum = u128::from(scratch[0]) + u128::from(m) * u128::from(n[0]);
        let mut carry = (sum >> 64) as u64;
        for j in 1..limbs {
            let sum = u128::from(scratch[j]) + u128::from(m) * u128::from(n[j]) + u128::from(carry);
            scratch[j - 1] = sum as u64;
            carry = (sum >> 64) as u64;
        }
        let sum = u128::from(scratch[limbs]) + u128::from(carry);
        scratch[limbs - 1] = sum as u64;
        scratch[limbs] = scratch[limbs + 1] + (sum >> 64) as u64;
        scratch[limbs + 1] = 0;
    }
    // The result is below 2n; one conditional subtraction brings it below n.
    if scratch[limbs] != 0 || compare_limbs(&scratch[..limbs], n) != Ordering::Less {
        sub_limbs(&mut scratch[..limbs], n);
    }
    out.copy_from_slice(&scratch[..limbs]);
}

/// `base^exponent mod n` for odd n and base < n.
pub(super) fn modpow(base: &[u64], exponent: u32, n: &[u64]) -> Vec<u64> {
    let limbs = n.len();
    // -n^-1 mod 2^64 by Newton iteration; n0 itself is correct to 3 bits for odd n and each
    // step doubles the correct bits (3, 6, 12, 24, 48, 96).
    let mut inverse = n[0];
    for _ in 0..5 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
    }
    let n0_inv = inverse.wrapping_neg();

    // R^2 mod n by doubling 1 through 2·64·limbs steps; each step keeps the value below n.
    let mut r_squared = vec![0u64; limbs];
    r_squared[0] = 1;
    for _ in 0..2 * 64 * limbs {
        let mut carry = 0u64;
        for limb in r_squared.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != 0 || compare_limbs(&r_squared, n) != Ordering::Less {
            sub_limbs(&mut r_squared, n);
        }
    }

    let mut scratch = vec![0u64; limbs + 2];
    let mut base_mont = vec![0u64; limbs];
    mont_mul(base, &r_squared, n, n0_inv, &mut scratch, &mut base_mont);
    let mut acc = base_mont.clone();
    let mut tmp = vec![0u64; limbs];
    let top_bit = 31 - exponent.leading_zeros();
    for bit in (0..top_bit).rev() {
        mont_mul(&acc, &acc, n, n0_inv, &mut scratch, &mut tmp);
        std::mem::swap(&mut acc, &mut tmp);
        if exponent >> bit & 1 == 1 {
            mont_mul(&acc, &base_mont, n, n0_inv, &mut scratch, &mut tmp);
            std::mem::swap(&mut acc, &mut tmp);
        }
    }
    let mut one = vec![0u64; limbs];
    one[0] = 1;
    mont_mul(&acc, &one, n, n0_inv, &mut scratch, &mut tmp);
    tmp
}
