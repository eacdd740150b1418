//! [`Record`]: creation ("Record Creation", V1 compatibility fields on request as boxo does by
//! default), and verification exactly in the order of the spec's "Record Verification" section
//! (IPIP-428: SignatureV2 is the only signature ever checked, V1 protobuf fields must equal the
//! signed CBOR ones, EOL must be in the future), plus the accessors callers read.

use super::*;

/// A parsed IPNS record (`IpnsEntry`). Holds the exact bytes it was parsed from; every field
/// is a zero-copy slice of them. Parsing checks structure only; [`Record::validate`] checks
/// signature, consistency and expiry.
#[derive(Clone)]
pub struct Record {
    pub(super) raw: Bytes,
    // Protobuf fields; an absent bytes field is empty, as protobuf getters return it.
    pub(super) pb_value: Bytes,
    pub(super) signature_v1: Bytes,
    pub(super) pb_validity_type: Option<i32>,
    pub(super) pb_validity: Bytes,
    pub(super) pb_sequence: Option<u64>,
    pub(super) pb_ttl: Option<u64>,
    pub(super) pub_key: Bytes,
    pub(super) signature_v2: Bytes,
    pub(super) data: Bytes,
    // The signed DAG-CBOR fields of `data`. Integers are int64 as boxo writes them (it casts
    // the uint64 sequence to int64, so a sequence of 2^63 or more is a negative CBOR int).
    pub(super) value: Bytes,
    pub(super) validity: Bytes,
    pub(super) validity_type: i64,
    pub(super) sequence: i64,
    pub(super) ttl: i64,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("value", &String::from_utf8_lossy(&self.value))
            .field("validity", &String::from_utf8_lossy(&self.validity))
            .field("validity_type", &self.validity_type)
            .field("sequence", &self.sequence())
            .field("ttl_ns", &self.ttl)
            .field("has_v1_fields", &self.has_v1_fields())
            .field("size", &self.raw.len())
            .finish()
    }
}

impl Record {
    /// Parses a serialized record. Refuses records over [`MAX_RECORD_SIZE`], protobuf or
    /// DAG-CBOR that does not decode, V1-only records (no `signatureV2` or `data`), and `data`
    /// lacking any of `Value`, `Validity`, `ValidityType`, `Sequence`, `TTL` or holding them
    /// with the wrong CBOR types. Does not verify anything: call [`Record::validate`].
    pub fn from_bytes(raw: Bytes) -> IpnsResult<Record> {
        // IPNS spec verification step 1: size before parsing.
        if raw.len() > MAX_RECORD_SIZE {
            return err(
                IpnsErrorKind::TooLarge,
                format!(
                    "{} bytes is over the {MAX_RECORD_SIZE}-byte limit",
                    raw.len()
                ),
            );
        }
        let mut pb_value = Bytes::new();
        let mut signature_v1 = Bytes::new();
        let mut pb_validity_type = None;
        let mut pb_validity = Bytes::new();
        let mut pb_sequence = None;
        let mut pb_ttl = None;
        let mut pub_key = Bytes::new();
        let mut signature_v2 = Bytes::new();
        let mut data = Bytes::new();
        let mut reader = ProtoReader::new(&raw);
        while let Some((number, field)) = reader.next_field()? {
            // Repeated occurrences replace earlier ones (protobuf "last one wins"), as in Go.
            match (number, field) {
                (1, ProtoField::Bytes(range)) => pb_value = raw.slice(range),
                (2, ProtoField::Bytes(range)) => signature_v1 = raw.slice(range),
                // An enum is an int32 on the wire; Go truncates the varint to 32 bits.
                (3, ProtoField::Varint(value)) => pb_validity_type = Some(value as i32),
                (4, ProtoField::Bytes(range)) => pb_validity = raw.slice(range),
                (5, ProtoField::Varint(value)) => pb_sequence = Some(value),
                (6, ProtoField::Varint(value)) => pb_ttl = Some(value),
                (7, ProtoField::Bytes(range)) => pub_key = raw.slice(range),
                (8, ProtoField::Bytes(range)) => signature_v2 = raw.slice(range),
                (9, ProtoField::Bytes(range)) => data = raw.slice(range),
                (1..=9, _) => {
                    return malformed(format!("IpnsEntry field {number} has the wrong wire type"))
                }
                _ => {} // unknown fields: ignored for forward compatibility
            }
        }
        // Step 2: signatureV2 and data present and non-empty.
        if signature_v2.is_empty() || data.is_empty() {
            return err(
                IpnsErrorKind::MissingSignatureV2,
                "record lacks signatureV2 or data (legacy V1-only records are not trusted, IPIP-428)",
            );
        }
        // Step 4: data must be DAG-CBOR.
        let fields = decode_data(&data)?;
        Ok(Record {
            value: data.slice(fields.value),
            validity: data.slice(fields.validity),
            validity_type: fields.validity_type,
            sequence: fields.sequence,
            ttl: fields.ttl,
            raw,
            pb_value,
            signature_v1,
            pb_validity_type,
            pb_validity,
            pb_sequence,
            pb_ttl,
            pub_key,
            signature_v2,
            data,
        })
    }

    /// Creates and signs a record, as boxo's `NewRecord` does: DAG-CBOR `data` with `TTL`,
    /// `Value`, `Sequence`, `Validity`, `ValidityType` (canonical key order), SignatureV2 over
    /// `"ipns-signature:" ++ data`; with `include_v1`, the legacy protobuf copies and a V1
    /// signature over `value ++ validity ++ "EOL"` (boxo's default, for pre-0.9 nodes). No
    /// `pubKey`: an Ed25519 key is inlined in its name. `value` must be a content path
    /// (`/ipfs/<cid>[/path]`, `/ipns/<name>[/path]`, `/ipld/<cid>[/path]`).
    pub fn create(
        signing_key: &SigningKey,
        value: &str,
        sequence: u64,
        validity: SystemTime,
        ttl: Duration,
        include_v1: bool,
    ) -> IpnsResult<Record> {
        check_content_path(value)?;
        let validity_text = format_rfc3339_nano(validity)?;
        // boxo stores TTL as a Go time.Duration (int64 nanoseconds) and the sequence through
        // an int64 cast; do the same so Go decoders read the identical numbers back.
        let ttl_ns = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        let data = encode_data(
            value.as_bytes(),
            validity_text.as_bytes(),
            sequence as i64,
            ttl_ns,
        );
        let signature_v2 = signing_key.sign(&[SIGNATURE_V2_PREFIX, &data].concat());

        let mut protobuf = Vec::with_capacity(data.len() + 2 * value.len() + 256);
        if include_v1 {
            let signature_v1 = signing_key.sign(
                &[
                    value.as_bytes(),
                    validity_text.as_bytes(),
                    V1_VALIDITY_TYPE_EOL,
                ]
                .concat(),
            );
            write_proto_bytes(&mut protobuf, 1, value.as_bytes());
            write_proto_bytes(&mut protobuf, 2, &signature_v1.to_bytes());
            write_proto_varint(&mut protobuf, 3, 0);
            write_proto_bytes(&mut protobuf, 4, validity_text.as_bytes());
            write_proto_varint(&mut protobuf, 5, sequence);
            write_proto_varint(&mut protobuf, 6, ttl_ns as u64);
        }
        write_proto_bytes(&mut protobuf, 8, &signature_v2.to_bytes());
        write_proto_bytes(&mut protobuf, 9, &data);
        Record::from_bytes(Bytes::from(protobuf))
    }

    /// Verifies the record for `name` at time `now`, following the IPNS spec "Record
    /// Verification" steps in order and failing on the first error (boxo `ValidateWithName`):
    /// public key (`pubKey` hashing to the name, else the key inlined in the name), then
    /// SignatureV2 over `"ipns-signature:" ++ data`, then — if `signatureV1` or `value` is
    /// present — equality of the five V1 protobuf fields with the CBOR ones, then validity type
    /// EOL with EOL not before `now`, then a non-negative TTL. SignatureV1 is never checked.
    pub fn validate(&self, name: &IpnsName, now: SystemTime) -> IpnsResult<()> {
        // Steps 1, 2 and 4 ran in `from_bytes`.
        let key = self.public_key_for(name)?; // step 3
        if !key.verify(&[SIGNATURE_V2_PREFIX, &self.data], &self.signature_v2) {
            return err(IpnsErrorKind::BadSignature, "signatureV2 does not verify");
            // 5, 6
        }
        if !self.signature_v1.is_empty() || !self.pb_value.is_empty() {
            self.check_v1_fields_match()?; // step 7
        }
        let eol = self.validity()?; // step 8
        if now > eol {
            return err(
                IpnsErrorKind::Expired,
                format!("EOL {} has passed", String::from_utf8_lossy(&self.validity)),
            );
        }
        if self.ttl < 0 {
            return malformed("negative TTL");
        }
        Ok(())
    }

    /// Step 3: the key to verify with (boxo `ExtractPublicKey`).
    pub(super) fn public_key_for(&self, name: &IpnsName) -> IpnsResult<PublicKey> {
        if self.pub_key.is_empty() {
            let Some(inline) = name.inline_public_key_protobuf() else {
                return err(
                    IpnsErrorKind::PublicKey,
                    "name is a key hash and the record carries no pubKey",
                );
            };
            return PublicKey::from_protobuf(inline);
        }
        let (key_type, data) = decode_key_protobuf(&self.pub_key)
            .map_err(|e| IpnsError::new(IpnsErrorKind::PublicKey, e.message))?;
        let derived =
            IpnsName::from_public_key_protobuf(&encode_public_key_protobuf(key_type, data));
        if derived != *name {
            return err(
                IpnsErrorKind::PublicKey,
                format!("record pubKey belongs to {derived}, not {name}"),
            );
        }
        PublicKey::from_type_and_data(key_type, data)
    }

    /// Step 7 (boxo `validateCborDataMatchesPbData`): absent protobuf fields compare as their
    /// zero values, as Go's getters return them.
    fn check_v1_fields_match(&self) -> IpnsResult<()> {
        let mismatch = |field: &'static str| {
            IpnsError::new(
                IpnsErrorKind::V1Mismatch,
                format!("field \"{field}\" differs between protobuf and CBOR"),
            )
        };
        if self.pb_value != self.value {
            return Err(mismatch("Value"));
        }
        if self.pb_validity != self.validity {
            return Err(mismatch("Validity"));
        }
        if i64::from(self.pb_validity_type.unwrap_or(0)) != self.validity_type {
            return Err(mismatch("ValidityType"));
        }
        if self.pb_sequence.unwrap_or(0) != self.sequence as u64 {
            return Err(mismatch("Sequence"));
        }
        if self.pb_ttl.unwrap_or(0) != self.ttl as u64 {
            return Err(mismatch("TTL"));
        }
        Ok(())
    }

    /// The content path the record points at (boxo `Record.Value`): the signed `Value` when
    /// it is a path; a binary CID (legacy) as `/ipfs/<cid>`; empty as [`NOOP_VALUE`].
    pub fn value(&self) -> IpnsResult<Cow<'_, str>> {
        if self.value.is_empty() {
            return Ok(Cow::Borrowed(NOOP_VALUE));
        }
        if self.value[0] == b'/' {
            let text = std::str::from_utf8(&self.value)
                .map_err(|_| IpnsError::new(IpnsErrorKind::InvalidValue, "Value is not UTF-8"))?;
            check_content_path(text)?;
            return Ok(Cow::Borrowed(text));
        }
        let cid = Cid::try_from(&self.value[..]).map_err(|e| {
            IpnsError::new(
                IpnsErrorKind::InvalidValue,
                format!("Value is neither a path nor a CID: {e}"),
            )
        })?;
        Ok(Cow::Owned(format!("/ipfs/{cid}")))
    }

    /// The signed `Value` bytes as stored.
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }

    /// The signed sequence number (boxo casts the CBOR int64 back to uint64).
    pub fn sequence(&self) -> u64 {
        self.sequence as u64
    }

    /// The signed TTL; a negative TTL (refused by [`Record::validate`]) reads as zero.
    pub fn ttl(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.ttl).unwrap_or(0))
    }

    /// The EOL: the signed `Validity` parsed as RFC 3339, when `ValidityType` is EOL.
    pub fn validity(&self) -> IpnsResult<SystemTime> {
        if self.validity_type != 0 {
            return err(
                IpnsErrorKind::UnsupportedValidityType,
                format!("validity type {}", self.validity_type),
            );
        }
        parse_rfc3339(&self.validity)
    }

    /// The signed `Validity` bytes as stored (an RFC 3339 timestamp for EOL records).
    pub fn validity_text(&self) -> &Bytes {
        &self.validity
    }

    /// Whether any legacy V1 protobuf field is present.
    pub fn has_v1_fields(&self) -> bool {
        !self.pb_value.is_empty()
            || !self.signature_v1.is_empty()
            || self.pb_validity_type.is_some()
            || !self.pb_validity.is_empty()
            || self.pb_sequence.is_some()
            || self.pb_ttl.is_some()
    }

    /// The embedded `pubKey` protobuf (empty when the key is inlined in the name).
    pub fn public_key_bytes(&self) -> &Bytes {
        &self.pub_key
    }

    /// The signed DAG-CBOR `data` bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The exact serialized record, for serving as `application/vnd.ipfs.ipns-record`.
    pub fn to_bytes(&self) -> Bytes {
        self.raw.clone()
    }

    /// Orders two records of the same name by freshness, as boxo's record selection does:
    /// higher sequence wins, then later EOL (an unparsable EOL loses), then the bytewise
    /// larger serialization, so the choice is deterministic. Does not validate.
    pub fn cmp_freshness(&self, other: &Record) -> Ordering {
        self.sequence()
            .cmp(&other.sequence())
            .then_with(|| match (self.validity(), other.validity()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                (Ok(_), Err(_)) => Ordering::Greater,
                (Err(_), Ok(_)) => Ordering::Less,
                (Err(_), Err(_)) => Ordering::Equal,
            })
            .then_with(|| self.raw.cmp(&other.raw))
    }
}

/// Checks that `text` is a content path boxo's `path.NewPath` accepts for a record value:
/// `/ipfs/<cid>…` or `/ipld/<cid>…` with a parsable CID, or `/ipns/<non-empty>…`.
pub(super) fn check_content_path(text: &str) -> IpnsResult<()> {
    let bad = |why: &str| {
        Err(IpnsError::new(
            IpnsErrorKind::InvalidValue,
            format!("{why}: {:?}", text.chars().take(128).collect::<String>()),
        ))
    };
    let Some(rest) = text.strip_prefix('/') else {
        return bad("value does not start with /");
    };
    let (namespace, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let root = rest.split('/').next().unwrap_or("");
    if root.is_empty() {
        return bad("value has no root after the namespace");
    }
    match namespace {
        "ipfs" | "ipld" => match Cid::try_from(root) {
            Ok(_) => Ok(()),
            Err(_) => bad("value root is not a CID"),
        },
        "ipns" => Ok(()),
        _ => bad("value namespace is not ipfs, ipns or ipld"),
    }
}
