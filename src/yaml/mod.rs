//! YAML with positions: every node knows the line and column it starts at,
//! so that a diagnostic can point at the exact line of a manifest or of a
//! block in the docs. Scalars resolve with the YAML 1.2 core schema, as
//! serde_yaml does; quoted scalars are strings.

use std::collections::HashMap;

pub mod path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based line and column where the node starts.
    pub line: usize,
    pub col: usize,
    /// Line of the first token after the node (end of its text, exclusive).
    pub end_line: usize,
    /// Plain, quoted or block scalar (for rewriting values in place).
    pub quoted: bool,
}

/// A YAML document of a multi-document stream.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// 1-based line of the document's first content.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key node of `key` in a mapping (to point at the key itself).
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::as_str)
    }

    /// The YAML type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }

    /// The scalar as written in YAML (for messages), or a short summary.
    pub fn short(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Seq(s) => format!("a list of {}", s.len()),
            Value::Map(m) => format!("a mapping of {} keys", m.len()),
        }
    }

    /// The node as JSON, as the Kubernetes API takes it. Keys that are not
    /// strings are written as their YAML text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| {
                        let key = match &k.value {
                            Value::Str(s) => s.clone(),
                            _ => k.short(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    pub fn to_serde(&self) -> serde_yaml::Value {
        use serde_yaml::Value as V;
        match &self.value {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Int(i) => V::Number((*i).into()),
            Value::Float(f) => V::Number((*f).into()),
            Value::Str(s) => V::String(s.clone()),
            Value::Seq(s) => V::Sequence(s.iter().map(Node::to_serde).collect()),
            Value::Map(m) => V::Mapping(
                m.iter()
                    .map(|(k, v)| (k.to_serde(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// Parses every document of `text`. Empty documents are skipped.
pub fn parse(text: &str) -> Result<Vec<Document>, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| ParseError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq(Vec<Node>, Marker),
    Map(Vec<(Node, Node)>, Option<Node>, Marker),
}

/// Most nodes that aliases may add to a stream. An alias is expanded into
/// a copy of its anchored subtree, so nested aliases grow exponentially
/// ("billion laughs": 368 bytes can ask for billions of nodes); real
/// manifests stay far below this.
pub const MAX_ALIAS_NODES: usize = 100_000;

#[derive(Default)]
struct Builder {
    stack: Vec<(Frame, usize)>,
    docs: Vec<Document>,
    /// Anchored nodes, with the number of nodes in each.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes added by expanding aliases so far.
    alias_nodes: usize,
    error: Option<ParseError>,
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
        _ => 0,
    }
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 && self.error.is_none() {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            // An empty document (`---` followed by nothing) is a null.
            None if node.value == Value::Null => {}
            None => {
                let line = node.line;
                self.docs.push(Document { root: node, line });
            }
            Some((Frame::Seq(items, _), _)) => items.push(node),
            Some((Frame::Map(pairs, key, _), _)) => match key.take() {
                None => {
                    if let Some(k) = node.as_str() {
                        if self.error.is_none()
                            && pairs.iter().any(|(pk, _)| pk.as_str() == Some(k))
                        {
                            self.error = Some(ParseError {
                                line: node.line,
                                col: node.col,
                                message: format!("duplicate key `{k}`"),
                            });
                        }
                    }
                    *key = Some(node);
                }
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        let col = mark.col() + 1;
        // Marker columns are 0-based; lines are 1-based.
        // Close the end of every node finished before this event.
        fix_ends(&mut self.docs, &mut self.stack, line);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let value = resolve(text, quoted, tag.as_deref());
                self.push_node(
                    Node {
                        value,
                        line,
                        col,
                        end_line: 0,
                        quoted,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((Frame::Seq(Vec::new(), mark), anchor))
            }
            Event::MappingStart(anchor, _) => self
                .stack
                .push((Frame::Map(Vec::new(), None, mark), anchor)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((frame, anchor)) = self.stack.pop() {
                    let (value, start) = match frame {
                        Frame::Seq(items, m) => (Value::Seq(items), m),
                        Frame::Map(pairs, _, m) => (Value::Map(pairs), m),
                    };
                    // A block mapping's start marker is at its first `:`;
                    // its first key is where a reader sees it start.
                    let (line, col) = match &value {
                        Value::Map(pairs) if !pairs.is_empty() => (pairs[0].0.line, pairs[0].0.col),
                        _ => (start.line(), start.col() + 1),
                    };
                    let node = Node {
                        value,
                        line,
                        col,
                        end_line: 0,
                        quoted: false,
                    };
                    self.push_node(node, anchor);
                }
            }
            Event::Alias(id) => {
                let empty = Node {
                    value: Value::Null,
                    line,
                    col,
                    end_line: 0,
                    quoted: false,
                };
                let size = self.anchors.get(&id).map_or(1, |(_, n)| *n);
                self.alias_nodes = self.alias_nodes.saturating_add(size);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    if self.error.is_none() {
                        self.error = Some(ParseError {
                            line,
                            col,
                            message: format!(
                                "aliases expand to more than {MAX_ALIAS_NODES} nodes (nested aliases, a \"billion laughs\" document?)"
                            ),
                        });
                    }
                    self.push_node(empty, 0);
                    return;
                }
                let mut node = match self.anchors.get(&id) {
                    Some((n, _)) => n.clone(),
                    None => empty,
                };
                node.line = line;
                node.col = col;
                self.push_node(node, 0);
            }
            Event::StreamEnd | Event::DocumentEnd | Event::DocumentStart => {}
            Event::StreamStart | Event::Nothing => {}
        }
    }
}

/// Sets `end_line` of every finished node that has none yet: the line of
/// the next event is where its text ends (exclusive).
fn fix_ends(docs: &mut [Document], stack: &mut [(Frame, usize)], line: usize) {
    fn walk(n: &mut Node, line: usize) {
        if n.end_line != 0 {
            return;
        }
        n.end_line = line.max(n.line + 1);
        match &mut n.value {
            Value::Seq(items) => items.iter_mut().for_each(|c| walk(c, line)),
            Value::Map(pairs) => pairs.iter_mut().for_each(|(k, v)| {
                walk(k, line);
                walk(v, line);
            }),
            _ => {}
        }
    }
    if let Some(d) = docs.last_mut() {
        walk(&mut d.root, line);
    }
    for (frame, _) in stack.iter_mut() {
        match frame {
            Frame::Seq(items, _) => {
                if let Some(last) = items.last_mut() {
                    walk(last, line);
                }
            }
            Frame::Map(pairs, key, _) => {
                if let Some((k, v)) = pairs.last_mut() {
                    walk(k, line);
                    walk(v, line);
                }
                if let Some(k) = key {
                    walk(k, line);
                }
            }
        }
    }
}

fn resolve(text: String, quoted: bool, tag: Option<&str>) -> Value {
    match tag {
        Some("!!str") | Some("tag:yaml.org,2002:str") => return Value::Str(text),
        Some("!!int") => return text.parse().map_or(Value::Str(text), Value::Int),
        Some("!!float") => return text.parse().map_or(Value::Str(text), Value::Float),
        _ => {}
    }
    if quoted {
        return Value::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if is_float(&text) {
        if let Ok(f) = text.parse() {
            return Value::Float(f);
        }
    }
    Value::Str(text)
}

fn parse_int(t: &str) -> Option<i64> {
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

fn is_float(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let (a, b) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        (a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
            && (!a.is_empty() || !b.is_empty())
            && (mantissa.contains('.') || exp.is_some())
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_lines_and_columns() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: \"1\"\n  list:\n    - x\n    - 2\n";
        let docs = parse(text).unwrap();
        let root = &docs[0].root;
        let name = root.at(&["metadata", "name"]).unwrap();
        assert_eq!((name.line, name.col), (4, 9));
        assert_eq!(name.as_str(), Some("s"));
        let a = root.at(&["stringData", "a"]).unwrap();
        assert_eq!(a.value, Value::Str("1".into()));
        assert!(a.quoted);
        let list = root.at(&["stringData", "list"]).unwrap().as_seq().unwrap();
        assert_eq!(list[1].value, Value::Int(2));
        assert_eq!((list[1].line, list[1].col), (9, 7));
        let meta = root.get("metadata").unwrap();
        assert_eq!((meta.line, meta.end_line), (4, 5));
    }

    #[test]
    fn core_schema_scalars() {
        let docs = parse("a: 14d\nb: 14\nc: 1.5\nd: true\ne: ~\nf: '14'\ng: 0x1f\nh: 1e3\ni: !!str 3\nj: .5\nk: 1.2.3\n").unwrap();
        let r = &docs[0].root;
        let v = |k: &str| r.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Str("14d".into()));
        assert_eq!(v("b"), Value::Int(14));
        assert_eq!(v("c"), Value::Float(1.5));
        assert_eq!(v("d"), Value::Bool(true));
        assert_eq!(v("e"), Value::Null);
        assert_eq!(v("f"), Value::Str("14".into()));
        assert_eq!(v("g"), Value::Int(31));
        assert_eq!(v("h"), Value::Float(1000.0));
        assert_eq!(v("i"), Value::Str("3".into()));
        assert_eq!(v("j"), Value::Float(0.5));
        assert_eq!(v("k"), Value::Str("1.2.3".into()));
    }

    #[test]
    fn multi_document_streams_and_anchors() {
        let docs = parse("---\na: &x [1, 2]\nb: *x\n---\n---\nc: 3\n").unwrap();
        assert_eq!(docs.len(), 2, "the empty document is skipped");
        assert_eq!(docs[0].root.get("b").unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(docs[1].line, 6);
    }

    #[test]
    fn an_alias_bomb_is_an_error_not_a_hang() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(text.len() < 800);
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("aliases expand to more than"), "{e:?}");
        assert!(e.line >= 2, "points at an alias: {e:?}");
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message.as_str()),
            (3, 1, "duplicate key `a`")
        );
    }

    #[test]
    fn converts_to_serde_values() {
        let docs = parse("a:\n  - 1\n  - x\n").unwrap();
        let v = docs[0].root.to_serde();
        assert_eq!(v["a"][0], serde_yaml::Value::from(1));
        assert_eq!(v["a"][1], serde_yaml::Value::from("x"));
    }
}
