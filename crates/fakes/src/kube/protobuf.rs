//! Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON object the API
//! server would have decoded from `application/json`.
//!
//! kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|...`,
//! `kubectl run`, evictions) send built-in kinds as protobuf, and client-go does not fall back
//! to JSON when a server refuses it (a 415 is a failed command), so a server kubectl can use
//! must read it. The body is Kubernetes' envelope — the magic `k8s\0`, then a `runtime.Unknown`
//! naming `apiVersion`/`kind` around the object's own message — and the message is read with
//! the field table of `schema`, following Go's JSON rules: pointer fields keep present zero
//! values, `omitempty` scalars drop them, `,inline` fields merge into their parent, and the
//! apimachinery types with their own JSON form (Time, MicroTime, Duration, Quantity,
//! IntOrString, RawExtension, FieldsV1) are written as Go writes them.
//!
//! Pure: bytes in, JSON out; errors say what is wrong where, never panic. Encoding responses as
//! protobuf is not done: kubectl accepts JSON answers (`Accept: ...protobuf,application/json`).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value as Json, json};

use super::schema::{Field, FieldType, Scalar, Schema};
use super::state::timestamp;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";
const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtobufError {
    /// The body does not start with the `k8s\0` envelope magic.
    NoEnvelope,
    /// The envelope names a kind that has no protobuf form (custom resources).
    UnknownKind { api_version: String, kind: String },
    /// The envelope's content is compressed or otherwise encoded.
    Encoded(String),
    /// The bytes do not follow the protobuf wire format, or a field has the wrong wire type.
    Malformed { message: String, detail: String },
}

impl std::fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtobufError::NoEnvelope => {
                f.write_str("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
            }
            ProtobufError::UnknownKind { api_version, kind } => {
                write!(f, "no kind {kind:?} is registered for version {api_version:?} in protobuf")
            }
            ProtobufError::Encoded(encoding) => {
                write!(f, "protobuf content encoding {encoding:?} is not supported")
            }
            ProtobufError::Malformed { message, detail } => {
                write!(f, "unable to decode protobuf message {message}: {detail}")
            }
        }
    }
}

impl std::error::Error for ProtobufError {}

/// One field as it appears on the wire.
#[derive(Clone, Copy, Debug)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.position).ok_or("truncated varint")?;
            self.position += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        let end = self.position.checked_add(count).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("field of {count} bytes runs past the end"))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    /// The next field's number and value, or `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>, String> {
        if self.position >= self.bytes.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire = match tag & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or([0; 8]))),
            2 => {
                let length = usize::try_from(self.varint()?).map_err(|_| "length overflows")?;
                Wire::Bytes(self.take(length)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or([0; 4]))),
            other => return Err(format!("wire type {other} of field {number} is not supported")),
        };
        Ok(Some((number, wire)))
    }
}

/// Decodes an enveloped body (`k8s\0` + `runtime.Unknown`) into a JSON object with its
/// `apiVersion` and `kind`.
pub fn decode_object(body: &[u8]) -> Result<Json, ProtobufError> {
    let inner = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoEnvelope)?;
    let malformed = |detail: String| ProtobufError::Malformed {
        message: "k8s.io.apimachinery.pkg.runtime.Unknown".into(),
        detail,
    };
    let (mut api_version, mut kind, mut raw, mut encoding) =
        (String::new(), String::new(), &[][..], String::new());
    let mut reader = Reader::new(inner);
    while let Some((number, wire)) = reader.field().map_err(malformed)? {
        match (number, wire) {
            (1, Wire::Bytes(type_meta)) => {
                let mut meta = Reader::new(type_meta);
                while let Some((n, w)) = meta.field().map_err(malformed)? {
                    match (n, w) {
                        (1, Wire::Bytes(b)) => api_version = utf8(b).map_err(malformed)?,
                        (2, Wire::Bytes(b)) => kind = utf8(b).map_err(malformed)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = bytes,
            (3, Wire::Bytes(b)) => encoding = utf8(b).map_err(malformed)?,
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return Err(ProtobufError::Encoded(encoding));
    }
    let schema = Schema::get();
    let message = schema.kind(&api_version, &kind).ok_or_else(|| ProtobufError::UnknownKind {
        api_version: api_version.clone(),
        kind: kind.clone(),
    })?;
    let object = decode_message(schema, message, raw)?;
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("apiVersion".into(), json!(api_version));
    if let Json::Object(fields) = object {
        out.extend(fields);
    }
    Ok(Json::Object(out))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".to_string())
}

/// Decodes one message's bytes into its JSON form.
fn decode_message(schema: &Schema, name: &str, bytes: &[u8]) -> Result<Json, ProtobufError> {
    let malformed = |detail: String| ProtobufError::Malformed { message: name.to_owned(), detail };
    if let Some(value) = special(schema, name, bytes).map_err(malformed)? {
        return Ok(value);
    }
    let fields =
        schema.message(name).ok_or_else(|| malformed("no such message in the schema".into()))?;
    // Values by field index, in wire order; repeated and map fields accumulate.
    let mut values: Vec<Option<Json>> = vec![None; fields.len()];
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.field().map_err(malformed)? {
        // Unknown fields are skipped, as proto2 readers do.
        let Some(index) = fields.iter().position(|f| f.number == number) else { continue };
        let field = &fields[index];
        match &field.ty {
            FieldType::Map { key, value } => {
                let Wire::Bytes(entry) = wire else {
                    return Err(malformed(format!(
                        "map field {} is not length-delimited",
                        field.name
                    )));
                };
                let (k, v) = map_entry(schema, *key, value, entry).map_err(|e| match e {
                    ProtobufError::Malformed { detail, .. } => {
                        malformed(format!("{}: {detail}", field.name))
                    }
                    other => other,
                })?;
                let slot = values[index].get_or_insert_with(|| Json::Object(Map::new()));
                if let Some(map) = slot.as_object_mut() {
                    map.insert(k, v);
                }
            }
            ty => {
                let decoded = if field.repeated {
                    repeated_values(schema, field, ty, wire)?
                } else {
                    vec![single_value(schema, field, ty, wire)?]
                };
                if field.repeated {
                    let slot = values[index].get_or_insert_with(|| Json::Array(Vec::new()));
                    if let Some(items) = slot.as_array_mut() {
                        items.extend(decoded);
                    }
                } else {
                    values[index] = decoded.into_iter().next();
                }
            }
        }
    }
    let mut out = Map::new();
    for (field, value) in fields.iter().zip(values) {
        let Some(value) = value else { continue };
        if value.is_null() {
            continue;
        }
        let scalar = matches!(field.ty, FieldType::Scalar(_));
        if scalar && !field.repeated && !field.pointer && field.omitempty && is_zero(&value) {
            continue;
        }
        match (field.inline, value) {
            (true, Json::Object(inner)) => out.extend(inner),
            (_, value) => {
                out.insert(field.name.clone(), value);
            }
        }
    }
    Ok(Json::Object(out))
}

fn is_zero(value: &Json) -> bool {
    match value {
        Json::String(s) => s.is_empty(),
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn map_entry(
    schema: &Schema,
    key: Scalar,
    value_type: &FieldType,
    bytes: &[u8],
) -> Result<(String, Json), ProtobufError> {
    let entry_field = |number, ty: FieldType| Field {
        number,
        name: String::new(),
        ty,
        repeated: false,
        pointer: true,
        omitempty: false,
        inline: false,
        merge: false,
        retain_keys: false,
        merge_key: None,
    };
    let key_field = entry_field(1, FieldType::Scalar(key));
    let value_field = entry_field(2, value_type.clone());
    let (mut k, mut v) = (None, None);
    let mut reader = Reader::new(bytes);
    let malformed =
        |detail: String| ProtobufError::Malformed { message: "map entry".into(), detail };
    while let Some((number, wire)) = reader.field().map_err(malformed)? {
        match number {
            1 => k = Some(single_value(schema, &key_field, &key_field.ty, wire)?),
            2 => v = Some(single_value(schema, &value_field, &value_field.ty, wire)?),
            _ => {}
        }
    }
    let key = match k {
        Some(Json::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    // A missing value is the type's zero value.
    let value = v.unwrap_or_else(|| match value_type {
        FieldType::Scalar(Scalar::String | Scalar::Bytes) => json!(""),
        FieldType::Scalar(Scalar::Bool) => json!(false),
        FieldType::Scalar(_) => json!(0),
        _ => json!({}),
    });
    Ok((key, value))
}

fn repeated_values(
    schema: &Schema,
    field: &Field,
    ty: &FieldType,
    wire: Wire<'_>,
) -> Result<Vec<Json>, ProtobufError> {
    // Packed numeric lists arrive as one length-delimited field.
    if let (FieldType::Scalar(scalar), Wire::Bytes(bytes)) = (ty, wire)
        && !matches!(scalar, Scalar::String | Scalar::Bytes)
    {
        let mut reader = Reader::new(bytes);
        let mut items = Vec::new();
        let malformed =
            |detail: String| ProtobufError::Malformed { message: field.name.clone(), detail };
        while reader.position < bytes.len() {
            let item = match scalar {
                Scalar::Double => Wire::Fixed64(u64::from_le_bytes(
                    reader.take(8).map_err(malformed)?.try_into().unwrap_or([0; 8]),
                )),
                Scalar::Float => Wire::Fixed32(u32::from_le_bytes(
                    reader.take(4).map_err(malformed)?.try_into().unwrap_or([0; 4]),
                )),
                _ => Wire::Varint(reader.varint().map_err(malformed)?),
            };
            items.push(single_value(schema, field, ty, item)?);
        }
        return Ok(items);
    }
    Ok(vec![single_value(schema, field, ty, wire)?])
}

fn single_value(
    schema: &Schema,
    field: &Field,
    ty: &FieldType,
    wire: Wire<'_>,
) -> Result<Json, ProtobufError> {
    let wrong = || ProtobufError::Malformed {
        message: field.name.clone(),
        detail: format!("wire type {wire:?} does not carry a {ty:?}"),
    };
    Ok(match (ty, wire) {
        (FieldType::Message(name), Wire::Bytes(bytes)) => decode_message(schema, name, bytes)?,
        (FieldType::Scalar(Scalar::String), Wire::Bytes(bytes)) => {
            json!(utf8(bytes).map_err(|detail| ProtobufError::Malformed {
                message: field.name.clone(),
                detail
            })?)
        }
        (FieldType::Scalar(Scalar::Bytes), Wire::Bytes(bytes)) => json!(base64(bytes)),
        (FieldType::Scalar(Scalar::Bool), Wire::Varint(v)) => json!(v != 0),
        // Negative int32 values are sign-extended to ten bytes on the wire.
        (FieldType::Scalar(Scalar::Int32), Wire::Varint(v)) => json!(v as i64 as i32),
        (FieldType::Scalar(Scalar::Int64), Wire::Varint(v)) => json!(v as i64),
        (FieldType::Scalar(Scalar::Uint32), Wire::Varint(v)) => json!(v as u32),
        (FieldType::Scalar(Scalar::Uint64), Wire::Varint(v)) => json!(v),
        (FieldType::Scalar(Scalar::Double), Wire::Fixed64(v)) => json!(f64::from_bits(v)),
        (FieldType::Scalar(Scalar::Float), Wire::Fixed32(v)) => json!(f64::from(f32::from_bits(v))),
        _ => return Err(wrong()),
    })
}

/// Messages with a JSON form of their own; `None` for ordinary messages.
fn special(schema: &Schema, name: &str, bytes: &[u8]) -> Result<Option<Json>, String> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let package = &name[..name.len() - short.len()].trim_end_matches('.');
    let mut fields: Vec<(u64, Wire<'_>)> = Vec::new();
    let known = match (*package, short) {
        (META, "Time" | "MicroTime" | "Duration" | "FieldsV1")
        | ("k8s.io.apimachinery.pkg.api.resource", "Quantity" | "QuantityValue")
        | ("k8s.io.apimachinery.pkg.util.intstr", "IntOrString")
        | ("k8s.io.apimachinery.pkg.runtime", "RawExtension") => true,
        _ => schema.is_array(name),
    };
    if !known {
        return Ok(None);
    }
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.field()? {
        fields.push(field);
    }
    let varint = |number| {
        fields.iter().rev().find_map(|(n, w)| match w {
            Wire::Varint(v) if *n == number => Some(*v),
            _ => None,
        })
    };
    let bytes_of = |number| {
        fields.iter().rev().find_map(|(n, w)| match w {
            Wire::Bytes(b) if *n == number => Some(*b),
            _ => None,
        })
    };
    let text = |number| bytes_of(number).map(utf8).transpose().map(Option::unwrap_or_default);
    Ok(Some(match short {
        "Time" | "MicroTime" => {
            let seconds = varint(1).unwrap_or(0) as i64;
            let nanos = varint(2).unwrap_or(0) as i64 as i32;
            if seconds == 0 && nanos == 0 {
                // Go writes the zero time as null.
                Json::Null
            } else {
                let at = UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64);
                let text = timestamp(at);
                if short == "MicroTime" {
                    let micros = nanos.max(0) / 1000;
                    json!(format!("{}.{micros:06}Z", text.trim_end_matches('Z')))
                } else {
                    json!(text)
                }
            }
        }
        "Duration" => json!(go_duration(varint(1).unwrap_or(0) as i64)),
        "FieldsV1" | "RawExtension" => match bytes_of(1) {
            None => Json::Null,
            Some(raw) if raw.starts_with(MAGIC) => decode_object(raw).map_err(|e| e.to_string())?,
            Some(raw) => {
                serde_json::from_slice(raw).map_err(|e| format!("{short} is not JSON: {e}"))?
            }
        },
        "Quantity" | "QuantityValue" => json!(text(1)?),
        "IntOrString" => {
            if varint(1).unwrap_or(0) == 1 {
                json!(text(3)?)
            } else {
                json!(varint(2).unwrap_or(0) as i64 as i32)
            }
        }
        _ => {
            // A Go named slice: `repeated string items = 1`.
            let items: Result<Vec<Json>, String> = fields
                .iter()
                .filter_map(|(n, w)| match w {
                    Wire::Bytes(b) if *n == 1 => Some(utf8(b).map(Json::String)),
                    _ => None,
                })
                .collect();
            Json::Array(items?)
        }
    }))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let fraction = |value: u64, unit: u64| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            whole.to_string()
        } else {
            let digits = unit.ilog10() as usize;
            let text = format!("{rest:0digits$}");
            format!("{whole}.{}", text.trim_end_matches('0'))
        }
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n, 1_000_000));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = n / 60_000_000_000 % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// Standard base64 with padding, as Go's `encoding/json` writes `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal protobuf writer for building test bodies.
    #[derive(Default)]
    struct Writer(Vec<u8>);

    impl Writer {
        fn varint(&mut self, mut value: u64) -> &mut Self {
            loop {
                let byte = (value & 0x7f) as u8;
                value >>= 7;
                if value == 0 {
                    self.0.push(byte);
                    return self;
                }
                self.0.push(byte | 0x80);
            }
        }
        fn int(&mut self, number: u64, value: u64) -> &mut Self {
            self.varint(number << 3).varint(value)
        }
        fn bytes(&mut self, number: u64, value: &[u8]) -> &mut Self {
            self.varint(number << 3 | 2).varint(value.len() as u64);
            self.0.extend_from_slice(value);
            self
        }
        fn text(&mut self, number: u64, value: &str) -> &mut Self {
            self.bytes(number, value.as_bytes())
        }
        fn message(&mut self, number: u64, build: impl FnOnce(&mut Writer)) -> &mut Self {
            let mut inner = Writer::default();
            build(&mut inner);
            self.bytes(number, &inner.0)
        }
    }

    fn envelope(api_version: &str, kind: &str, object: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut raw = Writer::default();
        object(&mut raw);
        let mut unknown = Writer::default();
        unknown.message(1, |t| {
            t.text(1, api_version).text(2, kind);
        });
        unknown.bytes(2, &raw.0).text(3, "").text(4, "");
        let mut body = MAGIC.to_vec();
        body.extend(unknown.0);
        body
    }

    /// ObjectMeta as gogo writes it: every non-pointer field, zero or not.
    fn metadata(w: &mut Writer, name: &str) {
        w.message(1, |m| {
            m.text(1, name).text(2, "").text(3, "").text(4, "").text(5, "").text(6, "").int(7, 0);
            m.message(8, |_| {});
            m.message(11, |e| {
                e.text(1, "app").text(2, "web");
            });
        });
    }

    #[test]
    fn a_namespace_decodes_as_go_would_write_it_in_json() {
        let body = envelope("v1", "Namespace", |w| {
            metadata(w, "demo");
            w.message(2, |_| {});
            w.message(3, |s| {
                s.text(1, "");
            });
        });
        let object = decode_object(&body).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo", "labels": {"app": "web"}}, "spec": {}, "status": {}})
        );
    }

    #[test]
    fn pointers_keep_zeros_inline_fields_merge_and_special_types_have_their_json_form() {
        let body = envelope("apps/v1", "Deployment", |w| {
            metadata(w, "web");
            w.message(2, |spec| {
                spec.int(1, 0); // replicas: 0 (a pointer) stays
                spec.int(5, 0); // minReadySeconds: 0 (omitempty) goes
                spec.message(3, |template| {
                    template.message(2, |pod| {
                        pod.message(1, |volume| {
                            volume.text(1, "config");
                            volume.message(2, |source| {
                                source.message(19, |cm| {
                                    cm.message(1, |r| {
                                        r.text(1, "settings");
                                    });
                                });
                            });
                        });
                        pod.message(2, |c| {
                            c.text(1, "app").text(2, "nginx");
                            c.message(6, |p| {
                                p.text(1, "").int(2, 0).int(3, 8080).text(4, "TCP");
                            });
                            c.message(8, |r| {
                                r.message(1, |e| {
                                    e.text(1, "cpu").message(2, |q| {
                                        q.text(1, "100m");
                                    });
                                });
                            });
                        });
                        // terminationGracePeriodSeconds: -1 (int64 pointer), sign-extended
                        pod.int(4, u64::MAX);
                    });
                });
                spec.message(4, |strategy| {
                    strategy.text(1, "RollingUpdate").message(2, |ru| {
                        ru.message(1, |m| {
                            m.int(1, 1).int(2, 0).text(3, "25%");
                        });
                    });
                });
            });
        });
        let object = decode_object(&body).unwrap();
        let spec = &object["spec"];
        assert_eq!(spec["replicas"], 0);
        assert!(spec.get("minReadySeconds").is_none(), "{spec}");
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["volumes"], json!([{"name": "config", "configMap": {"name": "settings"}}]));
        assert_eq!(
            pod["containers"][0]["ports"],
            json!([{"containerPort": 8080, "protocol": "TCP"}])
        );
        assert_eq!(pod["containers"][0]["resources"], json!({"limits": {"cpu": "100m"}}));
        assert_eq!(pod["terminationGracePeriodSeconds"], -1);
        assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
    }

    #[test]
    fn secrets_times_and_durations() {
        let body = envelope("v1", "Secret", |w| {
            w.message(1, |m| {
                m.text(1, "s").message(8, |t| {
                    t.int(1, 1_700_000_000);
                });
            });
            w.message(2, |e| {
                e.text(1, "key").bytes(2, b"hunter2");
            });
            w.text(3, "Opaque");
        });
        let object = decode_object(&body).unwrap();
        assert_eq!(object["data"]["key"], base64(b"hunter2"));
        assert_eq!(object["data"]["key"], "aHVudGVyMg==");
        assert_eq!(object["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(2_250_000_000), "2.25s");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        assert_eq!(decode_object(b"{\"kind\":1}"), Err(ProtobufError::NoEnvelope));
        let custom = envelope("example.com/v1", "Widget", |_| {});
        assert!(matches!(decode_object(&custom), Err(ProtobufError::UnknownKind { .. })));
        let mut truncated = envelope("v1", "ConfigMap", |w| metadata(w, "c"));
        truncated.truncate(truncated.len() - 3);
        assert!(matches!(decode_object(&truncated), Err(ProtobufError::Malformed { .. })));
        for cut in 0..truncated.len() {
            let _ = decode_object(&truncated[..cut]);
        }
    }
}
