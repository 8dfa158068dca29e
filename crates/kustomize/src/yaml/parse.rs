//! YAML text → `Value`, typed the way kustomize sees it.
//!
//! kustomize reads resources with kyaml (go-yaml v3), and before printing it decodes every
//! resource into Go `map[string]interface{}` and marshals that to JSON. So what reaches the
//! output is go-yaml v3's *decoding* of the document: plain scalars resolved by v3's resolver
//! (YAML 1.2-ish booleans, Go `ParseInt` base-0 integers such as `012` = 10 and `0x1F`, floats,
//! timestamps as Go `time.Time`, which JSON writes in RFC 3339), aliases expanded, merge keys
//! (`<<`) applied with explicit keys winning, duplicate keys rejected. This module reproduces
//! that decoding on top of a libyaml event parser (`libyaml-safer`, the same grammar go-yaml
//! ports), and also the other reading kustomize uses for kustomization files
//! (sigs.k8s.io/yaml, go-yaml v2 rules).
//!
//! It owns only text → value; it must not know about Kubernetes or kustomize semantics, and it
//! never panics on user input: every malformed input is a `YamlError` naming the input and the
//! position.

use std::borrow::Cow;
use std::collections::HashMap;

use libyaml_safer::{Event, EventData, Mark, Parser, ScalarStyle};

use super::emit::{block_style_allowed, is_break};
use crate::value::{Map, Value};

/// Why a YAML text could not be turned into values.
///
/// `file` is the name the caller gave for the text (usually its repository path); lines and
/// columns are 1-based positions in that text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML.
    #[error("{file}: YAML syntax error at line {line}, column {column}: {problem}{context}")]
    Syntax { file: String, line: u64, column: u64, problem: String, context: String },
    /// A mapping holds the same key twice (go-yaml v3, and so kustomize, rejects this). The
    /// key is not repeated here: errors never quote the text (it may be a Secret's).
    #[error(
        "{file}: line {line}, column {column}: mapping key already defined at line {first_line}"
    )]
    DuplicateKey { file: String, line: u64, column: u64, first_line: u64 },
    /// The text is YAML but holds something kustomize cannot represent or decode (a value that
    /// does not match its explicit tag, a non-string key inside a nested mapping, infinity or
    /// NaN that JSON cannot carry, an unknown alias, a bad merge...).
    #[error("{file}: line {line}, column {column}: {message}")]
    Invalid { file: String, line: u64, column: u64, message: String },
    /// The document nests deeper than kubectl allows, or weighs more than a build may hold.
    #[error("{file}: line {line}, column {column}: the document exceeds {limit}")]
    Limit { file: String, line: u64, column: u64, limit: crate::error::Limit },
    /// `parse_document` was given a text with more than one document.
    #[error("{file}: expected a single YAML document, found {count}")]
    NotSingleDocument { file: String, count: usize },
}

impl YamlError {
    /// The 1-based line the error points at, when it points at one.
    pub fn line(&self) -> Option<u64> {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::DuplicateKey { line, .. }
            | YamlError::Invalid { line, .. }
            | YamlError::Limit { line, .. } => Some(*line),
            YamlError::NotSingleDocument { .. } => None,
        }
    }

    /// The 1-based column the error points at, when it points at one.
    pub fn column(&self) -> Option<u64> {
        match self {
            YamlError::Syntax { column, .. }
            | YamlError::Invalid { column, .. }
            | YamlError::Limit { column, .. } => Some(*column),
            YamlError::DuplicateKey { column, .. } => Some(*column),
            YamlError::NotSingleDocument { .. } => None,
        }
    }
}

/// Parses every document of a (possibly multi-document) YAML text.
///
/// Empty documents (nothing, only comments, or an explicit null) are skipped, as kustomize's
/// reader skips them.
pub fn parse_documents(text: &str, source: &str) -> Result<Vec<Value>, YamlError> {
    parse_in(text, source, Dialect::Resource)
}

/// Parses documents as go-yaml v3 decodes them, without the print-and-reread kustomize gives
/// resources (`after_kyaml_folded_round_trip`): for YAML kustomize decodes but does not treat
/// as resources, such as helm values files.
pub fn parse_documents_decoded(text: &str, source: &str) -> Result<Vec<Value>, YamlError> {
    parse_with(text, source, Dialect::Resource, true)
}

/// Parses a kustomization file (`kustomization.yaml`, a `Component`), typed the way kustomize
/// reads those: through sigs.k8s.io/yaml, i.e. go-yaml v2 into JSON into Go structs. That
/// differs from resources (recorded with kubectl kustomize): YAML 1.1 booleans (`yes`, `on`,
/// `y` are `true`), timestamps stay their text, a repeated key is no error (the last one
/// wins), and scalar keys of any type become their text at every depth.
pub fn parse_kustomization(text: &str, source: &str) -> Result<Value, YamlError> {
    single(parse_in(text, source, Dialect::Kustomization)?, source)
}

/// The same as `parse_kustomization` (the name the pipeline first used for it).
pub fn parse_document_last_key_wins(text: &str, source: &str) -> Result<Value, YamlError> {
    parse_kustomization(text, source)
}

/// Which of kustomize's two YAML readings applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Resources: kyaml (go-yaml v3) decoding, then kustomize's JSON step.
    Resource,
    /// Kustomization files: sigs.k8s.io/yaml (go-yaml v2) into JSON.
    Kustomization,
}

fn single(mut documents: Vec<Value>, source: &str) -> Result<Value, YamlError> {
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.pop().unwrap_or(Value::Null)),
        count => Err(YamlError::NotSingleDocument { file: source.to_owned(), count }),
    }
}

fn parse_in(text: &str, source: &str, dialect: Dialect) -> Result<Vec<Value>, YamlError> {
    parse_with(text, source, dialect, false)
}

/// Reads the stream on this thread, or, when it nests deeper than the builder may recurse
/// here, again on a deep stack (a rare text pays for reading twice, every text is safe on
/// any thread).
fn parse_with(
    text: &str,
    source: &str,
    dialect: Dialect,
    decoded: bool,
) -> Result<Vec<Value>, YamlError> {
    let (input, unterminated_last_line) = with_final_line_break(text);
    let read = || {
        let mut builder = Builder::new(&input, source);
        builder.unterminated_last_line = unterminated_last_line;
        builder.dialect = dialect;
        builder.inside_kyaml_round_trip = decoded;
        let result = catch_engine_panics(&mut builder);
        (result, builder.needs_deep_stack)
    };
    match read() {
        (_, true) => crate::limits::on_build_stack(|| read().0),
        (result, false) => result,
    }
}

/// Reads the whole stream. libyaml-safer has a few internal `panic!`s on inputs its authors did
/// not expect (e.g. a tag right before a `,` in a flow collection). User input must never crash
/// the process, so a panic inside the engine is turned into a syntax error here.
fn catch_engine_panics(builder: &mut Builder<'_>) -> Result<Vec<Value>, YamlError> {
    let source = builder.source;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.stream()));
    match result {
        Ok(result) => result,
        Err(_) => Err(YamlError::Syntax {
            file: source.to_owned(),
            line: builder.last_mark.line + 1,
            column: builder.last_mark.column + 1,
            problem: "malformed YAML the parser cannot handle".to_owned(),
            context: String::new(),
        }),
    }
}

/// Parses a text that holds at most one document; an empty text gives `Value::Null`.
pub fn parse_document(text: &str, source: &str) -> Result<Value, YamlError> {
    single(parse_documents(text, source)?, source)
}

/// The text the engine reads: always ending with a line break.
///
/// libyaml-safer panics when the input ends inside a block scalar or right after a backslash
/// in a quoted scalar, which a file without a final newline easily does. So a missing final
/// break is added, and remembered: the one value that can change is a block scalar running to
/// the very end, which then gains a trailing newline the original does not have (`Builder`
/// removes it). A last line holding only spaces is dropped instead, which changes no value.
/// Returns the text and, when a break was added, the original length.
fn with_final_line_break(text: &str) -> (Cow<'_, str>, Option<u64>) {
    if text.is_empty() || text.ends_with(['\n', '\r']) {
        return (Cow::Borrowed(text), None);
    }
    let last_line_start = text.rfind(['\n', '\r']).map_or(0, |at| at + 1);
    if text[last_line_start..].trim_matches([' ', '\t']).is_empty() {
        return (Cow::Borrowed(&text[..last_line_start]), None);
    }
    (Cow::Owned(format!("{text}\n")), Some(text.len() as u64))
}

/// A folded (`>`) scalar's value after the trip kustomize gives every resource: kyaml prints
/// the node with go-yaml v3, keeping the folded style, and reads the text back. libyaml's
/// folded writer decides whether to double a line break by looking at the start of the whole
/// value instead of the current line, so the break before a more-indented line is doubled and
/// reads back as an extra newline (recorded: a Tekton script in the real-world corpus gains a
/// blank line before each more-indented line). Values the writer would not print as a block
/// scalar go out double-quoted and come back unchanged. An object's own annotations, and the
/// items of a list kustomize inlines through JSON, skip the trip (see `Place`).
fn after_kyaml_folded_round_trip(value: String) -> String {
    if !block_style_allowed(&value) {
        return value;
    }
    // The printed text, as go-yaml v3's `yaml_emitter_write_folded_scalar` writes it under a
    // key at indent 0 (content at indent 2), with unlimited width as kyaml uses.
    let mut text = String::with_capacity(value.len() * 2 + 8);
    text.push_str("k: >");
    let mut chars = value.chars();
    if value.starts_with(|c: char| c == ' ' || is_break(c)) {
        text.push('2');
    }
    let (last, before_last) = {
        let mut from_end = value.chars().rev();
        (from_end.next(), from_end.next())
    };
    match (last, before_last) {
        (None, _) => text.push('-'),
        (Some(last), _) if !is_break(last) => text.push('-'),
        (Some(_), None) => text.push('+'),
        (Some(_), Some(before)) if is_break(before) => text.push('+'),
        _ => {}
    }
    text.push('\n');
    let first_after_breaks = value.trim_start_matches(is_break).chars().next();
    let doubles_breaks = !matches!(first_after_breaks, None | Some(' ' | '\t'));
    let mut breaks = true;
    let mut leading_spaces = true;
    for c in chars.by_ref() {
        if is_break(c) {
            if !breaks && !leading_spaces && c == '\n' && doubles_breaks {
                text.push('\n');
            }
            text.push(c);
            breaks = true;
        } else {
            if breaks {
                text.push_str("  ");
                leading_spaces = c == ' ' || c == '\t';
            }
            text.push(c);
            breaks = false;
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut builder = Builder::new(&text, "kyaml round trip");
    builder.inside_kyaml_round_trip = true;
    match builder.stream().ok().and_then(|mut docs| docs.pop()) {
        Some(Value::Map(mut map)) => match map.shift_remove("k") {
            Some(Value::String(refolded)) => refolded,
            _ => value,
        },
        _ => value,
    }
}

/// Where a node sits in the object it belongs to, as far as the folded-scalar round trip cares.
///
/// kustomize rewrites an object's own `metadata.annotations` from their decoded values before
/// any print-and-reread, so a folded annotation there keeps the value go-yaml v3 decoded, while
/// folded scalars anywhere else (labels, data, a pod template's annotations) take the round trip
/// (recorded with kubectl kustomize). The items of a root `items` sequence depend on the
/// document, which is only known once it is read: see `ItemsMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    spot: Spot,
    /// Inside the root `items` sequence of a document.
    in_items: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spot {
    /// A document's root node, or an element of a root `items` sequence.
    ObjectRoot,
    /// The `metadata` mapping of an object.
    ObjectMetadata,
    /// The `metadata.annotations` mapping of an object.
    ObjectAnnotations,
    /// A value inside an object's `metadata.annotations`.
    AnnotationValue,
    /// The `items` sequence of a document's root.
    ListItems,
    Elsewhere,
}

impl Place {
    const DOCUMENT: Place = Place { spot: Spot::ObjectRoot, in_items: false };
    const KEY: Place = Place { spot: Spot::Elsewhere, in_items: false };

    /// The place of the value under `key` in a mapping at this place.
    fn child(self, key: &str) -> Place {
        let spot = match (self.spot, key) {
            (Spot::ObjectRoot, "metadata") => Spot::ObjectMetadata,
            (Spot::ObjectRoot, "items") if !self.in_items => Spot::ListItems,
            (Spot::ObjectMetadata, "annotations") => Spot::ObjectAnnotations,
            (Spot::ObjectAnnotations, _) => Spot::AnnotationValue,
            _ => Spot::Elsewhere,
        };
        Place { spot, in_items: self.in_items }
    }

    /// The place of an element of a sequence at this place.
    fn element(self) -> Place {
        match self.spot {
            Spot::ListItems => Place { spot: Spot::ObjectRoot, in_items: true },
            _ => Place { spot: Spot::Elsewhere, in_items: self.in_items },
        }
    }
}

/// What kustomize makes of the elements of a document's root `items`, which decides whether
/// their folded scalars take the round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemsMode {
    /// kyaml's reader unwraps a `List` or `ResourceList` that is the only document of its text:
    /// the items become objects as they are (their own annotations excepted, as for any object).
    Objects,
    /// Any other `…List` is inlined by kustomize through JSON, which drops every style: no
    /// folded scalar in its items takes the round trip.
    ThroughJson,
    /// The document is no list: its items are plain data and take the round trip.
    Data,
}

impl ItemsMode {
    /// The mode for a document of kind `kind` (with a sequence of items), in a text that holds
    /// one document or more.
    fn for_document(document: &Value, single_document: bool) -> ItemsMode {
        let kind = document.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("");
        let has_items = matches!(document.get_path(&["items"]), Some(Value::Seq(_)));
        if !kind.ends_with("List") || !has_items {
            ItemsMode::Data
        } else if single_document && matches!(kind, "List" | "ResourceList") {
            ItemsMode::Objects
        } else {
            ItemsMode::ThroughJson
        }
    }
}

/// Whether kyaml's reader sees one document in `text`: its splitter cuts at every `\n---…\n`.
fn single_document(text: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find("\n---") {
        if rest[at + 1..].contains('\n') {
            return false;
        }
        rest = &rest[at + 1..];
    }
    true
}

/// Collections nested deeper than this are refused, as kubectl refuses them (go-yaml's
/// "exceeded max depth of 10000"; the root mapping counts as one level).
const MAX_DEPTH: usize = crate::limits::MAX_DEPTH;

/// How deep the builder recurses on the caller's stack (a test or rayon thread has 2 MiB);
/// a text nested deeper is read again on a thread with a deep stack (`limits::on_build_stack`).
const SHALLOW_DEPTH: usize = 64;

/// Aliases copy their anchored value; this caps the total number of copied nodes so that a
/// "billion laughs" document is an error instead of exhausting memory.
const MAX_ALIASED_NODES: usize = 1_000_000;

struct Builder<'a> {
    parser: Parser<&'a [u8]>,
    /// The name of the text, for errors.
    source: &'a str,
    /// The text itself.
    source_text: &'a str,
    /// Anchor name → (value, node count, weight) within the current document.
    anchors: HashMap<String, (Value, usize, usize)>,
    /// Collections may nest this deep here: `MAX_DEPTH` on a deep stack, `SHALLOW_DEPTH`
    /// elsewhere (a deeper text is then read again on a deep stack).
    depth_limit: usize,
    /// Set when the text nests deeper than `SHALLOW_DEPTH` on a shallow stack.
    needs_deep_stack: bool,
    aliased_nodes: usize,
    /// The weight of every alias copy made in the current document.
    aliased_bytes: usize,
    /// Where the last event started, for errors that have no better position.
    last_mark: Mark,
    /// Set when a final line break was added to the text: the original length in bytes.
    unterminated_last_line: Option<u64>,
    dialect: Dialect,
    /// Set while re-reading a folded scalar as kyaml printed it (see
    /// `after_kyaml_folded_round_trip`), so that the re-reading does not recurse.
    inside_kyaml_round_trip: bool,
    /// How folded scalars inside a root `items` sequence are read (see `ItemsMode`).
    items_mode: ItemsMode,
    /// Set when the current document has a folded scalar inside its root `items`.
    folded_in_items: bool,
}

impl std::fmt::Debug for Builder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").field("source", &self.source).finish_non_exhaustive()
    }
}

/// A mapping key as go-yaml v3 sees it when checking duplicates and string-ness.
struct KeyInfo {
    /// The key's text (for scalars), or the alias name.
    text: String,
    /// Node kind as v3 compares it for duplicates: scalar, alias or collection.
    kind: KeyKind,
    /// The decoded key value (used for merge detection and string-ness).
    value: Value,
    is_merge: bool,
    mark: Mark,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum KeyKind {
    Scalar,
    /// A scalar that v3 types as a timestamp (compared like a scalar for duplicates).
    Timestamp,
    Alias,
    Collection,
}

impl KeyKind {
    /// The go-yaml node kind used in v3's duplicate check.
    fn node_kind(self) -> u8 {
        match self {
            KeyKind::Scalar | KeyKind::Timestamp => 0,
            KeyKind::Alias => 1,
            KeyKind::Collection => 2,
        }
    }
}

/// A built node: its value, how many nodes it holds (for the alias budget), and for scalars
/// the raw text and whether it was the merge key.
struct Built {
    value: Value,
    nodes: usize,
    /// The value's `limits::weight`, counted as it is built (aliases included).
    bytes: usize,
    key: Option<(String, KeyKind, bool)>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, source: &'a str) -> Self {
        let mut parser = Parser::new();
        parser.set_input(text.as_bytes());
        Builder {
            parser,
            source,
            source_text: text,
            anchors: HashMap::new(),
            depth_limit: if crate::limits::on_deep_stack() { MAX_DEPTH } else { SHALLOW_DEPTH },
            needs_deep_stack: false,
            aliased_nodes: 0,
            aliased_bytes: 0,
            last_mark: Mark::default(),
            unterminated_last_line: None,
            dialect: Dialect::Resource,
            inside_kyaml_round_trip: false,
            items_mode: ItemsMode::Objects,
            folded_in_items: false,
        }
    }

    fn next_event(&mut self) -> Result<Event, YamlError> {
        match self.parser.parse() {
            Ok(event) => {
                self.last_mark = event.start_mark;
                Ok(event)
            }
            Err(err) => {
                let mark = err.problem_mark().unwrap_or(self.last_mark);
                let context = match err.context() {
                    Some(context) => format!(" ({context})"),
                    None => String::new(),
                };
                Err(YamlError::Syntax {
                    file: self.source.to_owned(),
                    line: mark.line + 1,
                    column: mark.column + 1,
                    problem: err.problem().to_owned(),
                    context,
                })
            }
        }
    }

    fn invalid(&self, mark: Mark, message: impl Into<String>) -> YamlError {
        YamlError::Invalid {
            file: self.source.to_owned(),
            line: mark.line + 1,
            column: mark.column + 1,
            message: message.into(),
        }
    }

    fn stream(&mut self) -> Result<Vec<Value>, YamlError> {
        let mut documents = Vec::new();
        // Documents with folded scalars in their root `items`: (index in `documents`, byte
        // range of the document's text). How those read depends on the whole text.
        let mut revisit = Vec::new();
        loop {
            let event = self.next_event()?;
            match event.data {
                EventData::StreamStart { .. } => {}
                EventData::StreamEnd => break,
                EventData::DocumentStart { .. } => {
                    self.anchors.clear();
                    self.aliased_bytes = 0;
                    self.folded_in_items = false;
                    let start = event.start_mark.index;
                    let first = self.next_event()?;
                    let root = self.node(first, 0, Place::DOCUMENT)?;
                    let end = self.next_event()?;
                    if !matches!(end.data, EventData::DocumentEnd { .. }) {
                        return Err(self.invalid(end.start_mark, "unexpected YAML event"));
                    }
                    if root.value != Value::Null {
                        if self.folded_in_items {
                            revisit.push((documents.len(), start, end.end_mark.index));
                        }
                        documents.push(root.value);
                    }
                }
                _ => return Err(self.invalid(event.start_mark, "unexpected YAML event")),
            }
        }
        if !revisit.is_empty() && self.items_mode == ItemsMode::Objects {
            let single = single_document(self.source_text);
            for (index, start, end) in revisit {
                let mode = ItemsMode::for_document(&documents[index], single);
                if mode != ItemsMode::Objects {
                    documents[index] = self.reread(start, end, mode)?;
                }
            }
        }
        Ok(documents)
    }

    /// Reads the document at bytes `start..end` of the text again, its root `items` in `mode`.
    fn reread(&self, start: u64, end: u64, mode: ItemsMode) -> Result<Value, YamlError> {
        let text = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| self.source_text.get(start..end))
            .ok_or_else(|| self.invalid(self.last_mark, "document position out of range"))?;
        let mut builder = Builder::new(text, self.source);
        builder.depth_limit = self.depth_limit;
        builder.dialect = self.dialect;
        builder.items_mode = mode;
        builder.unterminated_last_line =
            self.unterminated_last_line.map(|at| at.saturating_sub(start));
        let value = single(builder.stream()?, self.source)?;
        Ok(value)
    }

    fn node(&mut self, event: Event, depth: usize, place: Place) -> Result<Built, YamlError> {
        // `depth` counts the collections around this node; kubectl refuses a collection
        // at level MAX_DEPTH + 1 (a scalar there is fine).
        let collection =
            matches!(event.data, EventData::SequenceStart { .. } | EventData::MappingStart { .. });
        if collection && depth >= self.depth_limit {
            if self.depth_limit < MAX_DEPTH {
                self.needs_deep_stack = true;
            }
            return Err(self.limit(event.start_mark, crate::error::Limit::Depth));
        }
        let mark = event.start_mark;
        match event.data {
            EventData::Scalar { anchor, tag, value, style, .. } => {
                self.scalar(anchor, tag, value, style, mark, event.end_mark, place)
            }
            EventData::Alias { anchor } => {
                let Some((value, nodes, bytes)) = self.anchors.get(&anchor) else {
                    return Err(self.invalid(mark, "unknown anchor referenced"));
                };
                let (nodes, bytes) = (*nodes, *bytes);
                if self.aliased_nodes + nodes > MAX_ALIASED_NODES {
                    return Err(self.invalid(mark, "document contains excessive aliasing"));
                }
                // The copy is made only when the document can still hold it.
                self.aliased_bytes = self.aliased_bytes.saturating_add(bytes);
                self.check_bytes(self.aliased_bytes, mark)?;
                self.aliased_nodes += nodes;
                let value = value.clone();
                Ok(Built { value, nodes, bytes, key: Some((anchor, KeyKind::Alias, false)) })
            }
            EventData::SequenceStart { anchor, .. } => {
                let mut items = Vec::new();
                let mut nodes = 1;
                let mut bytes = crate::limits::NODE_BYTES;
                loop {
                    let event = self.next_event()?;
                    if matches!(event.data, EventData::SequenceEnd) {
                        break;
                    }
                    let item = self.node(event, depth + 1, place.element())?;
                    nodes += item.nodes;
                    bytes = bytes.saturating_add(item.bytes);
                    self.check_bytes(bytes, mark)?;
                    items.push(item.value);
                }
                let built = Built { value: Value::Seq(items), nodes, bytes, key: None };
                self.remember(anchor, &built);
                Ok(built)
            }
            EventData::MappingStart { anchor, .. } => {
                let built = self.mapping(depth, place)?;
                self.remember(anchor, &built);
                Ok(built)
            }
            _ => Err(self.invalid(mark, "unexpected YAML event")),
        }
    }

    /// A scalar node (kept out of `node` so that the recursion's frames stay small).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn scalar(
        &mut self,
        anchor: Option<String>,
        tag: Option<String>,
        mut value: String,
        style: ScalarStyle,
        mark: Mark,
        end_mark: Mark,
        place: Place,
    ) -> Result<Built, YamlError> {
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            && self.unterminated_last_line.is_some_and(|end| end_mark.index >= end)
            && value.ends_with('\n')
        {
            // The block scalar ran to the end of a file without a final newline; the
            // newline `with_final_line_break` added is not part of the original value.
            value.pop();
        }
        if style == ScalarStyle::Folded
            && self.dialect == Dialect::Resource
            && !self.inside_kyaml_round_trip
            && tag.is_none()
            && self.takes_round_trip(place)
        {
            value = after_kyaml_folded_round_trip(value);
        }
        let resolved = resolve_scalar(&value, tag.as_deref(), style, self.dialect)
            .map_err(|message| self.invalid(mark, message))?;
        let (value_out, is_merge) = match resolved {
            Resolved::Merge => (Value::String("<<".to_owned()), true),
            Resolved::Value(v) => (v, false),
        };
        if let Value::String(text) = &value_out
            && self.dialect == Dialect::Resource
            && text.chars().any(breaks_kustomize_output)
        {
            // kustomize's JSON step leaves these characters raw and go-yaml v2 then
            // refuses to read its own input back.
            return Err(self.invalid(mark, "yaml: control characters are not allowed"));
        }
        if let Value::Float(f) = value_out
            && !f.is_finite()
        {
            // kustomize fails here too: its JSON step cannot encode the value.
            let shown = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            return Err(self.invalid(mark, format!("json: unsupported value: {shown}")));
        }
        // An untagged plain timestamp is a string value but not a string *key*: v3 then
        // decodes the mapping as map[interface{}]interface{}.
        let timestamp_key = tag.is_none()
            && matches!(style, ScalarStyle::Plain | ScalarStyle::Any)
            && is_timestamp(&value);
        let kind = if timestamp_key { KeyKind::Timestamp } else { KeyKind::Scalar };
        let bytes = crate::limits::weight(&value_out);
        self.check_bytes(bytes, mark)?;
        let built = Built { value: value_out, nodes: 1, bytes, key: Some((value, kind, is_merge)) };
        self.remember(anchor, &built);
        Ok(built)
    }

    /// Whether a folded scalar at `place` takes kyaml's round trip (see `Place`).
    fn takes_round_trip(&mut self, place: Place) -> bool {
        if !place.in_items {
            return place.spot != Spot::AnnotationValue;
        }
        self.folded_in_items = true;
        match self.items_mode {
            ItemsMode::Objects => place.spot != Spot::AnnotationValue,
            ItemsMode::ThroughJson => false,
            ItemsMode::Data => true,
        }
    }

    fn remember(&mut self, anchor: Option<String>, built: &Built) {
        if let Some(anchor) = anchor {
            self.anchors.insert(anchor, (built.value.clone(), built.nodes, built.bytes));
        }
    }

    fn mapping(&mut self, depth: usize, place: Place) -> Result<Built, YamlError> {
        let mut explicit: Vec<(KeyInfo, Value)> = Vec::new();
        // (node kind, text) → index in `explicit`, for v3's duplicate check in O(1).
        let mut seen: HashMap<(u8, String), usize> = HashMap::new();
        let mut merge: Option<(Value, Mark)> = None;
        let mut nodes = 1;
        let mut bytes = crate::limits::NODE_BYTES;
        loop {
            let event = self.next_event()?;
            if matches!(event.data, EventData::MappingEnd) {
                break;
            }
            let key_mark = event.start_mark;
            let key = self.node(event, depth + 1, Place::KEY)?;
            let value_event = self.next_event()?;
            let value_mark = value_event.start_mark;
            let key_text = key.key.as_ref().map_or("", |(text, _, _)| text.as_str());
            let value = self.node(value_event, depth + 1, place.child(key_text))?;
            nodes += key.nodes + value.nodes;
            bytes = bytes.saturating_add(key.bytes).saturating_add(value.bytes);
            self.check_bytes(bytes, key_mark)?;
            let (text, kind, is_merge) =
                key.key.unwrap_or_else(|| (String::new(), KeyKind::Collection, false));
            let info = KeyInfo { text, kind, value: key.value, is_merge, mark: key_mark };
            // v3 reports a key repeated with the same node kind and text, whatever its style;
            // v2 (kustomization files) lets the last one win, as `Map::insert` below does.
            let first = match self.dialect {
                Dialect::Resource => {
                    let key = (info.kind.node_kind(), info.text.clone());
                    match seen.entry(key) {
                        std::collections::hash_map::Entry::Occupied(at) => {
                            Some(&explicit[*at.get()].0)
                        }
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            slot.insert(explicit.len());
                            None
                        }
                    }
                }
                Dialect::Kustomization => None,
            };
            if let Some(first) = first {
                return Err(YamlError::DuplicateKey {
                    file: self.source.to_owned(),
                    column: info.mark.column + 1,
                    line: info.mark.line + 1,
                    first_line: first.mark.line + 1,
                });
            }
            if info.is_merge {
                // Only the last merge key counts in v3; earlier ones are still duplicates.
                merge = Some((value.value.clone(), value_mark));
            }
            explicit.push((info, value.value));
        }

        let mut map = Map::with_capacity(explicit.len());
        for (info, value) in explicit {
            if info.is_merge {
                continue;
            }
            let key = match (&info.kind, info.value) {
                (KeyKind::Scalar | KeyKind::Alias, Value::String(s))
                    if self.dialect == Dialect::Resource && s.contains('\u{85}') =>
                {
                    // Go's JSON leaves NEL raw; go-yaml v2 then reads the key as spanning two
                    // lines, which a flow mapping key may not, and kustomize fails.
                    return Err(self.invalid(
                        info.mark,
                        "mapping key contains NEL (U+0085), which kustomize cannot print",
                    ));
                }
                (KeyKind::Scalar | KeyKind::Alias, Value::String(s)) => s,
                (KeyKind::Collection, _) => {
                    return Err(self.invalid(info.mark, "mapping keys must be scalars"));
                }
                (_, Value::Null) => {
                    return Err(self.invalid(info.mark, "mapping key is null"));
                }
                // The document's root mapping is decoded into map[string]interface{}: a
                // scalar key of another type becomes its text there. Deeper mappings with
                // such keys become map[interface{}]interface{}, which kustomize's JSON step
                // refuses.
                // sigs.k8s.io/yaml turns every scalar key into a string, at any depth.
                (_, _) if depth == 0 || self.dialect == Dialect::Kustomization => info.text,
                (_, other) => {
                    return Err(self.invalid(
                        info.mark,
                        format!(
                            "non-string mapping key {} is not supported (kustomize: json: \
                             unsupported type: map[interface {{}}]interface {{}})",
                            describe(&other)
                        ),
                    ));
                }
            };
            map.insert(key, value);
        }
        if let Some((merged, mark)) = merge {
            let sources: Vec<Map> = match merged {
                Value::Map(m) => vec![m],
                Value::Seq(items) => {
                    let mut maps = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::Map(m) => maps.push(m),
                            _ => return Err(self.merge_error(mark)),
                        }
                    }
                    maps
                }
                _ => return Err(self.merge_error(mark)),
            };
            // Explicit keys win over merged ones; among merged mappings the first one wins.
            for source in sources {
                for (k, v) in source {
                    map.entry(k).or_insert(v);
                }
            }
        }
        Ok(Built { value: Value::Map(map), nodes, bytes, key: None })
    }

    /// Refuses a document whose value (aliases expanded) would weigh more than
    /// `limits::MAX_OBJECT_BYTES`.
    fn check_bytes(&self, bytes: usize, mark: Mark) -> Result<(), YamlError> {
        if bytes > crate::limits::MAX_OBJECT_BYTES {
            return Err(self.limit(mark, crate::error::Limit::ObjectBytes));
        }
        Ok(())
    }

    fn limit(&self, mark: Mark, limit: crate::error::Limit) -> YamlError {
        YamlError::Limit {
            file: self.source.to_owned(),
            line: mark.line + 1,
            column: mark.column + 1,
            limit,
        }
    }

    fn merge_error(&self, mark: Mark) -> YamlError {
        self.invalid(mark, "map merge requires map or sequence of maps as the value")
    }
}

/// Characters that Go's JSON encoder writes raw but go-yaml v2's reader rejects: DEL, the C1
/// controls except NEL, and the non-characters U+FFFE and U+FFFF.
fn breaks_kustomize_output(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

fn describe(value: &Value) -> String {
    match value {
        // Types only: keys are text of the file, which errors never quote.
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "(boolean)".to_owned(),
        Value::Int(_) => "(integer)".to_owned(),
        Value::Float(_) => "(float)".to_owned(),
        Value::String(_) => "(string)".to_owned(),
        Value::Seq(_) => "(sequence)".to_owned(),
        Value::Map(_) => "(mapping)".to_owned(),
    }
}

/// What a scalar decodes to.
#[derive(Debug, PartialEq)]
enum Resolved {
    Value(Value),
    /// The plain `<<` merge key.
    Merge,
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// The short form of a tag (`tag:yaml.org,2002:int` → `!!int`), as v3 compares them.
fn short_tag(tag: &str) -> String {
    match tag.strip_prefix(TAG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_owned(),
    }
}

/// Types a scalar as go-yaml v3 decodes it into `interface{}` (or, for kustomization files,
/// as go-yaml v2 does).
fn resolve_scalar(
    text: &str,
    tag: Option<&str>,
    style: ScalarStyle,
    dialect: Dialect,
) -> Result<Resolved, String> {
    let plain = matches!(style, ScalarStyle::Plain | ScalarStyle::Any);
    let tag = match tag {
        None | Some("!") => None,
        Some(t) => Some(short_tag(t)),
    };
    let Some(tag) = tag else {
        if !plain {
            return Ok(Resolved::Value(Value::String(text.to_owned())));
        }
        if text == "<<" {
            return Ok(Resolved::Merge);
        }
        if dialect == Dialect::Kustomization {
            return Ok(Resolved::Value(resolve_plain_v2(text).into_value(text)));
        }
        return Ok(Resolved::Value(resolve_plain(text).into_value(text)));
    };
    match tag.as_str() {
        "!!str" => Ok(Resolved::Value(Value::String(text.to_owned()))),
        "!!merge" if text == "<<" => Ok(Resolved::Merge),
        "!!binary" => decode_base64(text)
            .map(|bytes| Resolved::Value(Value::String(go_json_lossy_utf8(&bytes))))
            .ok_or_else(|| "!!binary value contains invalid base64 data".to_owned()),
        "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" => {
            let found = if tag == "!!timestamp" && is_timestamp(text) {
                Plain::Timestamp
            } else if dialect == Dialect::Kustomization {
                resolve_plain_v2(text)
            } else {
                resolve_plain_untimed(text)
            };
            let found_tag = found.tag();
            if found_tag == tag {
                return Ok(Resolved::Value(found.into_value(text)));
            }
            if tag == "!!float"
                && let Plain::Int(i) = found
            {
                return Ok(Resolved::Value(Value::Float(i as f64)));
            }
            // The scalar is not quoted: it may be a Secret's value.
            Err(format!("cannot decode a {found_tag} scalar as a {tag}"))
        }
        // Tags v3 does not resolve (custom `!foo`, `!!map` on a scalar, ...) keep the text.
        _ => Ok(Resolved::Value(Value::String(text.to_owned()))),
    }
}

/// A plain scalar's type after v3's resolver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers in (i64::MAX, u64::MAX]: Go keeps them as uint64.
    Uint(u64),
    Float(f64),
    /// A timestamp: kustomize prints it in RFC 3339 form (see `parse_timestamp`).
    Timestamp,
    Str,
}

impl Plain {
    fn tag(&self) -> &'static str {
        match self {
            Plain::Null => "!!null",
            Plain::Bool(_) => "!!bool",
            Plain::Int(_) | Plain::Uint(_) => "!!int",
            Plain::Float(_) => "!!float",
            Plain::Timestamp => "!!timestamp",
            Plain::Str => "!!str",
        }
    }

    fn into_value(self, text: &str) -> Value {
        match self {
            Plain::Null => Value::Null,
            Plain::Bool(b) => Value::Bool(b),
            Plain::Int(i) => Value::Int(i),
            // `Value` has no unsigned integer; the nearest float is the closest we can carry.
            Plain::Uint(u) => Value::Float(u as f64),
            Plain::Float(f) => Value::Float(f),
            Plain::Timestamp => {
                Value::String(parse_timestamp(text).unwrap_or_else(|| text.to_owned()))
            }
            Plain::Str => Value::String(text.to_owned()),
        }
    }
}

/// v3's resolver for an untagged plain scalar.
fn resolve_plain(text: &str) -> Plain {
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) && is_timestamp(text) {
        return Plain::Timestamp;
    }
    resolve_plain_untimed(text)
}

/// go-yaml v2's resolver, as kustomization files are read: YAML 1.1 booleans too, and
/// timestamps kept as their text (sigs.k8s.io/yaml hands them on as strings).
fn resolve_plain_v2(text: &str) -> Plain {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Plain::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Plain::Bool(false),
        _ => resolve_plain_untimed(text),
    }
}

fn resolve_plain_untimed(text: &str) -> Plain {
    let first = text.as_bytes().first().copied();
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match first {
        Some(b'.') => match parse_go_float(text) {
            Some(f) => Plain::Float(f),
            None => Plain::Str,
        },
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let digits: String = text.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_go_int(&digits) {
                return i;
            }
            if is_yaml_style_float(&digits)
                && let Some(f) = parse_go_float(&digits)
            {
                return Plain::Float(f);
            }
            Plain::Str
        }
        _ => Plain::Str,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach here: an overflow to
/// infinity is an error in Go, so it is `None` here.
pub(super) fn parse_go_float(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    // Rust also accepts `inf`/`nan` spellings that Go's decimal path here never sees through
    // the resolver (they start with a letter), but a leading sign could reach them: refuse.
    if bytes.iter().any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(super) fn is_yaml_style_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let count_digits = |mut j: usize| {
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        (j, j - start)
    };
    if i < b.len() && b[i] == b'.' {
        let (j, n) = count_digits(i + 1);
        if n == 0 {
            return false;
        }
        i = j;
    } else {
        let (j, n) = count_digits(i);
        if n == 0 {
            return false;
        }
        i = j;
        if i < b.len() && b[i] == b'.' {
            i = count_digits(i + 1).0;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let (j, n) = count_digits(i);
        if n == 0 {
            return false;
        }
        i = j;
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`, on a text without `_`:
/// sign, then base prefix `0x`/`0o`/`0b` or a leading `0` for octal.
pub(super) fn parse_go_int(text: &str) -> Option<Plain> {
    let (negative, body) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u128 + 1 {
            return Some(Plain::Int((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    if magnitude <= i64::MAX as u128 {
        Some(Plain::Int(magnitude as i64))
    } else if text.starts_with('+') {
        // ParseUint takes no sign.
        None
    } else if magnitude <= u64::MAX as u128 {
        Some(Plain::Uint(magnitude as u64))
    } else {
        None
    }
}

/// Whether go-yaml (v2 and v3 alike) resolves a plain scalar as a timestamp.
pub(super) fn is_timestamp(text: &str) -> bool {
    parse_timestamp(text).is_some()
}

/// A timestamp as go-yaml resolves it: Go's `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also with a lower-case `t`), `2006-1-2 15:4:5.999999999`
/// and `2006-1-2`, including its range checks (a day must exist in its month: `2021-02-30` is
/// no timestamp). Returns the value as kustomize prints it: v3 decodes it into a `time.Time`,
/// which Go's JSON encoder writes in RFC 3339 with nanoseconds (`2001-12-14T00:00:00Z`).
pub(super) fn parse_timestamp(text: &str) -> Option<String> {
    /// One or two digits (Go's non-fixed `getnum`), within a range.
    fn number(s: &str, low: u32, high: u32) -> Option<u32> {
        if !(1..=2).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u32>().ok().filter(|n| (low..=high).contains(n))
    }
    fn fixed_two(s: &str) -> Option<u32> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    }
    let bytes = text.as_bytes();
    if bytes.len() < 5 || !bytes[..4].iter().all(u8::is_ascii_digit) || bytes[4] != b'-' {
        return None;
    }
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some((&text[at..at + 1], &text[at + 1..]))),
        None => (text, None),
    };
    let mut parts = date[5..].splitn(2, '-');
    let (month, day) = (parts.next()?, parts.next()?);
    let year: u32 = date[..4].parse().ok()?;
    let month = number(month, 1, 12)?;
    let day = number(day, 1, 31)?;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > days_in_month {
        return None;
    }
    let date_part = format!("{year:04}-{month:02}-{day:02}");
    let Some((separator, time)) = time else {
        return Some(format!("{date_part}T00:00:00Z"));
    };
    // The clock: hour, minute, second, then an optional fraction of any length.
    let mut rest = time;
    let mut clock = [0u32; 3];
    for (index, high) in [23, 59, 59].into_iter().enumerate() {
        let digits = rest.bytes().take(2).take_while(u8::is_ascii_digit).count();
        clock[index] = number(&rest[..digits], 0, high)?;
        rest = &rest[digits..];
        if index < 2 {
            rest = rest.strip_prefix(':')?;
        }
    }
    let mut fraction = String::new();
    if rest.len() >= 2
        && matches!(rest.as_bytes()[0], b'.' | b',')
        && rest.as_bytes()[1].is_ascii_digit()
    {
        let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        // Go keeps nanoseconds (the first nine digits) and prints them without trailing zeros.
        fraction = rest[1..1 + digits.min(9)].trim_end_matches('0').to_owned();
        rest = &rest[1 + digits..];
    }
    let zone = if separator == " " {
        if !rest.is_empty() {
            return None;
        }
        "Z".to_owned()
    } else if rest == "Z" {
        "Z".to_owned()
    } else {
        // `±hh:mm`; Go allows hours up to 24 and minutes up to 60 here.
        let zone = rest.as_bytes();
        if zone.len() != 6 || !matches!(zone[0], b'+' | b'-') || zone[3] != b':' {
            return None;
        }
        let hours = fixed_two(&rest[1..3]).filter(|h| *h <= 24)?;
        let minutes = fixed_two(&rest[4..6]).filter(|m| *m <= 60)?;
        let total = hours * 60 + minutes;
        if total == 0 {
            "Z".to_owned()
        } else {
            format!("{}{:02}:{:02}", &rest[..1], total / 60, total % 60)
        }
    };
    let dot = if fraction.is_empty() { "" } else { "." };
    Some(format!(
        "{date_part}T{:02}:{:02}:{:02}{dot}{fraction}{zone}",
        clock[0], clock[1], clock[2]
    ))
}

/// Bytes as Go's JSON encoder writes them in a string: every byte that does not start a valid
/// UTF-8 sequence becomes one U+FFFD (Rust's `from_utf8_lossy` would merge a truncated
/// sequence into a single one).
fn go_json_lossy_utf8(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(err) => {
                let (valid, rest) = bytes.split_at(err.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                bytes = &rest[1..];
            }
        }
    }
}

/// Go's `base64.StdEncoding.DecodeString`: standard alphabet, padding required, `\r` and `\n`
/// ignored.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn sextet(b: u8) -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = text.bytes().filter(|b| !matches!(b, b'\r' | b'\n')).collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let chunks = clean.len() / 4;
    for (index, chunk) in clean.chunks(4).enumerate() {
        let last = index + 1 == chunks;
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut bits = 0u32;
        for &b in &chunk[..4 - padding] {
            bits = (bits << 6) | sextet(b)?;
        }
        bits <<= 6 * padding as u32;
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        out.extend_from_slice(&bytes[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        parse_document(text, "test.yaml").expect("parses")
    }

    fn scalar(text: &str) -> Value {
        let doc = one(&format!("k: {text}\n"));
        doc.as_map().and_then(|m| m.get("k")).cloned().expect("k")
    }

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v3() {
        assert_eq!(scalar("012"), Value::Int(10));
        assert_eq!(scalar("0o12"), Value::Int(10));
        assert_eq!(scalar("0x1F"), Value::Int(31));
        assert_eq!(scalar("0b101"), Value::Int(5));
        assert_eq!(scalar("-0x10"), Value::Int(-16));
        assert_eq!(scalar("1_000"), Value::Int(1000));
        assert_eq!(scalar("+12"), Value::Int(12));
        assert_eq!(scalar("089"), Value::Float(89.0));
        assert_eq!(scalar("1e3"), Value::Float(1000.0));
        assert_eq!(scalar("1.5"), Value::Float(1.5));
        assert_eq!(scalar(".5"), Value::Float(0.5));
        assert_eq!(scalar("1."), Value::Float(1.0));
        assert_eq!(scalar("yes"), Value::from("yes"));
        assert_eq!(scalar("on"), Value::from("on"));
        assert_eq!(scalar("No"), Value::from("No"));
        assert_eq!(scalar("True"), Value::Bool(true));
        assert_eq!(scalar("FALSE"), Value::Bool(false));
        assert_eq!(scalar("~"), Value::Null);
        assert_eq!(scalar(""), Value::Null);
        assert_eq!(scalar("Null"), Value::Null);
        assert_eq!(scalar("2001-12-14"), Value::from("2001-12-14T00:00:00Z"));
        assert_eq!(scalar("2001-12-14T21:59:43.10Z"), Value::from("2001-12-14T21:59:43.1Z"));
        assert_eq!(scalar("2001-1-4 1:2:3"), Value::from("2001-01-04T01:02:03Z"));
        assert_eq!(scalar("2001-1-4t1:2:3.0+00:00"), Value::from("2001-01-04T01:02:03Z"));
        assert_eq!(
            scalar("2001-1-4T1:2:3.1234567891-05:30"),
            Value::from("2001-01-04T01:02:03.123456789-05:30")
        );
        assert_eq!(scalar("'2001-12-14'"), Value::from("2001-12-14"));
        assert_eq!(scalar("2023-02-29"), Value::from("2023-02-29"));
        assert_eq!(scalar("1:20"), Value::from("1:20"));
        assert!(is_timestamp("2001-12-14"));
        assert!(is_timestamp("2001-1-4t1:2:3.1234567891+05:30"));
        assert!(is_timestamp("2001-12-14 21:59:43,5"));
        assert!(is_timestamp("2024-02-29T00:00:00Z"));
        assert!(!is_timestamp("2023-02-29"));
        assert!(!is_timestamp("2001-12-14T21:59:43"));
        assert!(!is_timestamp("2001-12-14 21:59:43Z"));
        assert!(!is_timestamp("2001-13-01"));
        assert!(!is_timestamp("12001-12-01"));
        assert_eq!(scalar("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(scalar("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(scalar("1e400"), Value::from("1e400"));
        assert_eq!(scalar("100000000000000000000000"), Value::Float(1e23));
        assert_eq!(scalar("0x"), Value::from("0x"));
        assert_eq!(resolve_plain("-"), Plain::Str);
        assert_eq!(resolve_plain("+"), Plain::Str);
        assert_eq!(scalar("'012'"), Value::from("012"));
        assert_eq!(scalar("\"true\""), Value::from("true"));
    }

    #[test]
    fn explicit_tags_are_honoured_or_rejected() {
        assert_eq!(scalar("!!str 12"), Value::from("12"));
        assert_eq!(scalar("!!int \"12\""), Value::Int(12));
        assert_eq!(scalar("!!float 1"), Value::Float(1.0));
        assert_eq!(scalar("!!binary aGVsbG8="), Value::from("hello"));
        assert_eq!(scalar("!custom 12"), Value::from("12"));
        assert_eq!(scalar("!!timestamp 2001-12-14"), Value::from("2001-12-14T00:00:00Z"));
        let err = parse_document("k: !!int abc\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("cannot decode a !!str scalar as a !!int"), "{err}");
        let err = parse_document("k: !!bool yes\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("f.yaml: line 1, column 4"), "{err}");
        assert!(parse_document("k: !!binary %%%\n", "f.yaml").is_err());
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = one(
            "a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\nc:\n  <<: [{r: 1}, {r: 2, s: 3}]\nd: *x\n",
        );
        assert_eq!(doc.get_path(&["b", "p"]), Some(&Value::Int(1)));
        assert_eq!(doc.get_path(&["b", "q"]), Some(&Value::Int(3)));
        assert_eq!(doc.get_path(&["c", "r"]), Some(&Value::Int(1)));
        assert_eq!(doc.get_path(&["c", "s"]), Some(&Value::Int(3)));
        assert_eq!(doc.get_path(&["d", "q"]), Some(&Value::Int(2)));
        assert!(doc.get_path(&["b", "<<"]).is_none());
        assert_eq!(scalar("\"<<\""), Value::from("<<"));
        let err = parse_document("a:\n  <<: 1\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("map merge requires"), "{err}");
        let err = parse_document("a: *nope\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("unknown anchor referenced"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_an_error_naming_both_lines() {
        let err = parse_document("a: 1\nb: 2\n\"a\": 3\n", "dup.yaml").unwrap_err();
        assert_eq!(
            err,
            YamlError::DuplicateKey { file: "dup.yaml".into(), line: 3, column: 1, first_line: 1 }
        );
    }

    #[test]
    fn root_keys_of_other_types_become_text_but_nested_ones_are_refused() {
        let doc = one("1: a\ntrue: b\n0x10: c\n1.50: d\n");
        let keys: Vec<&str> = doc.as_map().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["1", "true", "0x10", "1.50"]);
        assert!(parse_document("a:\n  1: x\n", "f.yaml").is_err());
        assert!(parse_document("? [a]\n: x\n", "f.yaml").is_err());
        assert!(parse_document("~: x\n", "f.yaml").is_err());
    }

    #[test]
    fn control_characters_kustomize_cannot_print_are_refused() {
        assert!(parse_document("a: \"x\\x7fy\"\n", "f.yaml").is_err());
        assert!(parse_document("\"k\\x9f\": v\n", "f.yaml").is_err());
        assert!(parse_document("a: \"x\\uffffy\"\n", "f.yaml").is_err());
        assert!(parse_document("\"k\\x85\": v\n", "f.yaml").is_err());
        assert_eq!(scalar("\"x\\x85y\""), Value::from("x\u{85}y"));
    }

    #[test]
    fn kustomization_files_are_read_as_sigs_k8s_io_yaml_reads_them() {
        // Recorded with kubectl kustomize: in a kustomization `yes`/`on`/`y` are booleans,
        // `0o12` and `1e3` numbers, dates stay text, `~` null, repeated keys last-wins.
        let k = parse_kustomization(
            "a: yes\nb: on\nc: y\nd: 0o12\ne: 2001-12-14\nf: ~\ng: 1:20\na: no\n",
            "kustomization.yaml",
        )
        .expect("parses");
        assert_eq!(k.get_path(&["a"]), Some(&Value::Bool(false)));
        assert_eq!(k.get_path(&["b"]), Some(&Value::Bool(true)));
        assert_eq!(k.get_path(&["c"]), Some(&Value::Bool(true)));
        assert_eq!(k.get_path(&["d"]), Some(&Value::Int(10)));
        assert_eq!(k.get_path(&["e"]), Some(&Value::from("2001-12-14")));
        assert_eq!(k.get_path(&["f"]), Some(&Value::Null));
        assert_eq!(k.get_path(&["g"]), Some(&Value::from("1:20")));
        let nested = parse_kustomization("a:\n  1: x\n", "k.yaml").expect("parses");
        assert_eq!(nested.get_path(&["a", "1"]), Some(&Value::from("x")));
        assert!(parse_kustomization("a: .inf\n", "k.yaml").is_err());
        assert_eq!(parse_document_last_key_wins("a: 1\na: 2\n", "k.yaml").unwrap(), {
            let mut m = Map::new();
            m.insert("a".into(), Value::Int(2));
            Value::Map(m)
        });
    }

    #[test]
    fn infinities_and_nan_are_refused_like_kustomizes_json_step() {
        let err = parse_document("a: .inf\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("+Inf"), "{err}");
        assert!(parse_document("a: -.Inf\n", "f.yaml").is_err());
        assert!(parse_document("a: .nan\n", "f.yaml").is_err());
    }

    #[test]
    fn multi_document_streams_skip_empty_documents() {
        let docs =
            parse_documents("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n...\n", "m.yaml")
                .expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(parse_documents("", "e.yaml").unwrap(), Vec::<Value>::new());
        assert!(matches!(
            parse_document("a: 1\n---\nb: 2\n", "m.yaml"),
            Err(YamlError::NotSingleDocument { count: 2, .. })
        ));
    }

    #[test]
    fn syntax_errors_carry_file_line_and_column() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { .. }), "{err:?}");
        assert!(err.to_string().starts_with("bad.yaml: YAML syntax error at line"), "{err}");
        let err = parse_documents("a: 1\n  b: 2\n", "bad.yaml").unwrap_err();
        assert_eq!(err.line(), Some(2), "{err}");
        let err = parse_documents("a: \"unterminated\n", "bad.yaml").unwrap_err();
        assert!(err.line().is_some(), "{err}");
        // An input that makes the engine itself panic is still just an error.
        assert!(parse_documents("[!!str, a]\n", "bad.yaml").is_err());
    }

    #[test]
    fn files_without_a_final_newline_keep_their_values() {
        // Recorded with kubectl kustomize: a block scalar cut by the end of the file has no
        // final newline.
        assert_eq!(one("a: |\n  echo hi").get_path(&["a"]), Some(&Value::from("echo hi")));
        assert_eq!(one("a: >\n  echo\n  hi").get_path(&["a"]), Some(&Value::from("echo hi")));
        assert_eq!(one("a: |+\n  x\n\n  y").get_path(&["a"]), Some(&Value::from("x\n\ny")));
        assert_eq!(one("a: |-\n  x").get_path(&["a"]), Some(&Value::from("x")));
        assert_eq!(one("a: |\n  x\nb: 1").get_path(&["a"]), Some(&Value::from("x\n")));
        assert_eq!(one("a: 'x'\n  ").get_path(&["a"]), Some(&Value::from("x")));
        assert_eq!(one("a: x").get_path(&["a"]), Some(&Value::from("x")));
        assert!(parse_documents("a: \"x\\", "f.yaml").is_err());
    }

    #[test]
    fn folded_scalars_take_kyamls_round_trip() {
        // A break before a more-indented line gains a newline; ordinary folding is kept.
        assert_eq!(
            one("a: >\n  x\n  y\n\n  z\n    more\n  back\n").get_path(&["a"]),
            Some(&Value::from("x y\nz\n\n  more\nback\n"))
        );
        assert_eq!(one("a: >-\n  one\n  two\n").get_path(&["a"]), Some(&Value::from("one two")));
        // Not printable as a block scalar (trailing space): double-quoted, unchanged.
        assert_eq!(one("a: >\n  x \n    y\n").get_path(&["a"]), Some(&Value::from("x \n  y\n")));
    }

    #[test]
    fn an_objects_own_annotations_and_json_inlined_list_items_skip_the_round_trip() {
        // Recorded with kubectl kustomize v5.5.0 (see the yaml-case folded-annotations for the
        // single-object case; Lists are expanded by the build, so they are checked here).
        let folded = |indent: &str| {
            format!("{indent}>\n{indent}  folded text\n{indent}    more indented\n{indent}  back\n")
        };
        let once = Value::from("folded text\n  more indented\nback\n");
        let twice = Value::from("folded text\n\n  more indented\nback\n");
        let object = format!(
            "kind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    a: {}  labels:\n    l: {}data:\n  d: {}",
            folded("      ").trim_start(),
            folded("      ").trim_start(),
            folded("    ").trim_start(),
        );
        let doc = one(&object);
        assert_eq!(doc.get_path(&["metadata", "annotations", "a"]), Some(&once));
        assert_eq!(doc.get_path(&["metadata", "labels", "l"]), Some(&twice));
        assert_eq!(doc.get_path(&["data", "d"]), Some(&twice));

        let list = format!(
            "kind: List\nitems:\n- kind: ConfigMap\n  metadata:\n    name: x\n    annotations:\n      a: {}  data:\n    d: {}",
            folded("        ").trim_start(),
            folded("      ").trim_start(),
        );
        let item = |docs: &[Value]| {
            docs[0].get_path(&["items"]).and_then(Value::as_seq).unwrap()[0].clone()
        };
        // The only document: kyaml unwraps the List, its items are objects.
        let alone = parse_documents(&list, "l.yaml").unwrap();
        assert_eq!(item(&alone).get_path(&["metadata", "annotations", "a"]), Some(&once));
        assert_eq!(item(&alone).get_path(&["data", "d"]), Some(&twice));
        // With another document: kustomize inlines the items through JSON, no round trip.
        let with_other = parse_documents(&format!("kind: Other\n---\n{list}"), "l.yaml").unwrap();
        assert_eq!(item(&with_other[1..]).get_path(&["data", "d"]), Some(&once));
        // Not a list: `items` is plain data.
        let data = parse_documents(&list.replace("kind: List", "kind: Thing"), "l.yaml").unwrap();
        assert_eq!(item(&data).get_path(&["metadata", "annotations", "a"]), Some(&twice));
    }

    #[test]
    fn nesting_is_read_as_deep_as_kubectl_reads_it_on_any_thread() {
        // Recorded with kubectl kustomize v5.5.0: a ConfigMap whose `data2` holds 9,999 nested
        // flow sequences renders, 10,000 fail (the root mapping is level one). This test's
        // thread has a 2 MiB stack; the parser moves deep texts to a deep one.
        let nested = |n: usize| {
            // A scalar inside the deepest level is no level of its own.
            format!("kind: ConfigMap\ndata2: {}x{}\n", "[".repeat(n), "]".repeat(n))
        };
        let docs = parse_documents(&nested(9_999), "deep.yaml").expect("kubectl renders it");
        assert_eq!(crate::limits::depth(&docs[0]), 10_000);
        // Dropping (like cloning or comparing) a value this deep recurses too: callers do it
        // on a deep stack.
        let on_deep_stack = |docs: Vec<Value>| crate::limits::on_build_stack(move || drop(docs));
        on_deep_stack(docs);
        let err = parse_documents(&nested(10_000), "deep.yaml").unwrap_err();
        assert!(
            matches!(err, YamlError::Limit { limit: crate::error::Limit::Depth, line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn aliases_may_not_copy_more_bytes_than_a_document_may_hold() {
        // 100 aliases of a 1 MiB string: few nodes, but 100 MiB once expanded.
        let big = "x".repeat(1 << 20);
        let text = format!("a: &a {big}\nlist:\n{}", "- *a\n".repeat(100));
        let err = parse_documents(&text, "bomb.yaml").unwrap_err();
        assert!(
            matches!(err, YamlError::Limit { limit: crate::error::Limit::ObjectBytes, .. }),
            "{err}"
        );
        let fine = format!("a: &a {big}\nlist:\n{}", "- *a\n".repeat(10));
        assert!(parse_documents(&fine, "ok.yaml").is_ok());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_documents(&text, "bomb.yaml").unwrap_err();
        assert!(err.to_string().contains("excessive aliasing"), "{err}");
    }
}
