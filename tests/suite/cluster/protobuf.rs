//! Kubernetes' protobuf encoding, read for the few kinds kubectl's typed
//! commands create (`kubectl create namespace|secret|configmap` send
//! `application/vnd.kubernetes.protobuf`): the `k8s\0` envelope
//! (runtime.Unknown), ObjectMeta's name, generateName, namespace, labels,
//! annotations and finalizers, and the fields of Namespace, Secret and
//! ConfigMap. Anything else is None (the caller answers 415).

use serde_json::{json, Map, Value};

/// (field number, wire type, payload): varints as their value, length-
/// delimited fields as bytes.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let f = match key & 7 {
            0 => Field::Varint(varint(b, &mut i)?),
            2 => {
                let len = usize::try_from(varint(b, &mut i)?).ok()?;
                let end = i.checked_add(len).filter(|e| *e <= b.len())?;
                let s = &b[i..end];
                i = end;
                Field::Bytes(s)
            }
            1 => {
                i += 8;
                Field::Varint(0)
            }
            5 => {
                i += 4;
                Field::Varint(0)
            }
            _ => return None,
        };
        out.push((key >> 3, f));
    }
    (i == b.len()).then_some(out)
}

fn text(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// A map entry message {1: key, 2: value}.
fn entry(b: &[u8]) -> Option<(String, &[u8])> {
    let mut k = None;
    let mut v: &[u8] = &[];
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => k = Some(text(x)?),
            (2, Field::Bytes(x)) => v = x,
            _ => {}
        }
    }
    Some((k?, v))
}

fn meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    let (mut labels, mut annotations, mut finalizers) = (Map::new(), Map::new(), Vec::new());
    for (n, f) in fields(b)? {
        let Field::Bytes(x) = f else { continue };
        match n {
            // proto2 sends empty strings; JSON leaves them out.
            1..=3 if x.is_empty() => {}
            1 => drop(m.insert("name".into(), json!(text(x)?))),
            2 => drop(m.insert("generateName".into(), json!(text(x)?))),
            3 => drop(m.insert("namespace".into(), json!(text(x)?))),
            11 => {
                let (k, v) = entry(x)?;
                labels.insert(k, json!(text(v)?));
            }
            12 => {
                let (k, v) = entry(x)?;
                annotations.insert(k, json!(text(v)?));
            }
            14 => finalizers.push(json!(text(x)?)),
            _ => {}
        }
    }
    for (k, v) in [("labels", labels), ("annotations", annotations)] {
        if !v.is_empty() {
            m.insert(k.into(), Value::Object(v));
        }
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), json!(finalizers));
    }
    Some(Value::Object(m))
}

/// The JSON form of a protobuf-encoded object, for the kinds above.
pub fn decode(body: &[u8]) -> Option<Value> {
    let unknown = body.strip_prefix(b"k8s\0")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(unknown)? {
        match (n, f) {
            (1, Field::Bytes(t)) => {
                for (m, g) in fields(t)? {
                    match (m, g) {
                        (1, Field::Bytes(x)) => api_version = text(x)?,
                        (2, Field::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind});
    let mut maps: [Map<String, Value>; 2] = [Map::new(), Map::new()];
    for (n, f) in fields(raw)? {
        match (kind.as_str(), n, f) {
            (_, 1, Field::Bytes(x)) => obj["metadata"] = meta(x)?,
            ("Namespace", 2, Field::Bytes(x)) => {
                let fins: Option<Vec<Value>> = fields(x)?
                    .into_iter()
                    .filter_map(|(m, g)| match (m, g) {
                        (1, Field::Bytes(s)) => Some(text(s).map(|t| json!(t))),
                        _ => None,
                    })
                    .collect();
                obj["spec"] = json!({"finalizers": fins?});
            }
            ("Secret", 2, Field::Bytes(x)) => {
                let (k, v) = entry(x)?;
                maps[0].insert(k, json!(super::tls::base64(v)));
            }
            ("Secret", 3, Field::Bytes(x)) if !x.is_empty() => obj["type"] = json!(text(x)?),
            ("Secret", 4, Field::Bytes(x)) | ("ConfigMap", 2, Field::Bytes(x)) => {
                let (k, v) = entry(x)?;
                maps[1].insert(k, json!(text(v)?));
            }
            ("ConfigMap", 3, Field::Bytes(x)) => {
                let (k, v) = entry(x)?;
                maps[0].insert(k, json!(super::tls::base64(v)));
            }
            ("Secret" | "ConfigMap", 5 | 4, Field::Varint(v)) => obj["immutable"] = json!(v != 0),
            ("Namespace" | "Secret" | "ConfigMap", _, _) => {}
            _ => return None,
        }
    }
    if kind == "Secret" && obj.get("type").is_none() {
        obj["type"] = json!("Opaque");
    }
    let [binary, strings] = maps;
    let (binary_key, string_key) = if kind == "Secret" {
        ("data", "stringData")
    } else {
        ("binaryData", "data")
    };
    if !binary.is_empty() {
        obj[binary_key] = Value::Object(binary);
    }
    if !strings.is_empty() {
        obj[string_key] = Value::Object(strings);
    }
    matches!(kind.as_str(), "Namespace" | "Secret" | "ConfigMap").then_some(obj)
}
