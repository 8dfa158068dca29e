//! `Value` → YAML text, byte-identical to `kubectl kustomize` output.
//!
//! kustomize prints each resource by marshalling it to JSON and handing that to sigs.k8s.io/yaml,
//! which decodes the JSON with go-yaml v2 and marshals it again with go-yaml v2. So the output is
//! go-yaml v2's encoding of a plain JSON tree: keys sorted with v2's "natural" key order, block
//! style, strings quoted exactly when v2's resolver would read them back as something else,
//! numbers in the shape the JSON round trip leaves them. The emitter below reproduces v2's
//! libyaml-derived emitter state (column, indent stack, whitespace/indention flags) for the
//! subset of events that encoder produces, because folding and indentation depend on it.
//!
//! It owns formatting only; it must not change values, and it never fails: every `Value` has a
//! rendering.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::parse::{is_timestamp, is_yaml_style_float, parse_go_float, parse_go_int};
use crate::value::{Map, Value};

/// Prints documents the way kustomize joins resources: each one complete, `---\n` between.
pub fn emit_documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for (index, doc) in docs.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        Emitter::new(&mut out).document(doc);
    }
    out
}

/// Prints one document as sigs.k8s.io/yaml's `Marshal` (go-yaml v2) would.
pub fn emit_document(doc: &Value) -> String {
    let mut out = String::new();
    Emitter::new(&mut out).document(doc);
    out
}

/// go-yaml v2's line width: plain and quoted scalars are folded at spaces past this column.
const BEST_WIDTH: usize = 80;
const BEST_INDENT: i64 = 2;
/// A key longer than this (in bytes) is written as a complex key (`? key`).
const MAX_SIMPLE_KEY_LENGTH: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node sits, as the libyaml emitter tracks it.
#[derive(Clone, Copy, Debug, Default)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

/// The emitter state that decides line breaks and indentation (a subset of libyaml's).
#[derive(Debug)]
struct Emitter<'o> {
    out: &'o mut String,
    /// Current column in characters.
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    /// The last written character was whitespace (or nothing yet on this line).
    whitespace: bool,
    /// Only indentation has been written on this line so far.
    indention: bool,
    flow_level: usize,
}

impl<'o> Emitter<'o> {
    fn new(out: &'o mut String) -> Self {
        Emitter {
            out,
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
        }
    }

    /// A whole stream with one implicit document, as v2's `Marshal` emits it.
    fn document(&mut self, value: &Value) {
        self.node(value, Context::default());
        // Document end. libyaml would also write a `...` end marker after a keep-chomped (`|+`)
        // literal ending the document; the recorded kustomize output has none.
        self.write_indent();
    }

    // --- low-level writers (libyaml's put / write / write_indent / write_indicator) ---

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    /// Copies text that needs no escaping or folding, keeping the column count in characters.
    fn copy_unfolded(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += if text.is_ascii() { text.len() } else { text.chars().count() };
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies a line-break character from a scalar: `\n` as a newline, others as themselves.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn restore_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    // --- nodes ---

    fn node(&mut self, value: &Value, context: Context) {
        match value {
            Value::Null => self.scalar("null", Style::Plain, context),
            Value::Bool(true) => self.scalar("true", Style::Plain, context),
            Value::Bool(false) => self.scalar("false", Style::Plain, context),
            Value::Int(i) => self.scalar(&i.to_string(), Style::Plain, context),
            Value::Float(f) => self.scalar(&format_json_float(*f), Style::Plain, context),
            Value::String(s) => {
                let s = after_json_round_trip(s);
                self.scalar(&s, string_style(&s), context);
            }
            Value::Seq(items) => self.sequence(items, context),
            Value::Map(map) => self.mapping(map, context),
        }
    }

    fn sequence(&mut self, items: &[Value], context: Context) {
        if items.is_empty() || self.flow_level > 0 {
            self.write_indicator("[", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
            // Only empty sequences reach here: the encoder asks for block style otherwise.
            self.flow_level -= 1;
            self.restore_indent();
            self.write_indicator("]", false, false, false);
            return;
        }
        self.increase_indent(false, context.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default());
        }
        self.restore_indent();
    }

    fn mapping(&mut self, map: &Map, _context: Context) {
        if map.is_empty() {
            self.write_indicator("{", true, true, false);
            self.increase_indent(true, false);
            self.restore_indent();
            self.write_indicator("}", false, false, false);
            return;
        }
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        sort_keys(&mut keys);
        let entries = keys.into_iter().filter_map(|k| map.get_key_value(k));
        self.increase_indent(false, false);
        for (key, value) in entries {
            let key = after_json_round_trip(key);
            let key = key.as_ref();
            self.write_indent();
            let analysis = analyze(key);
            let key_context = Context { mapping: true, ..Context::default() };
            if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY_LENGTH {
                let context = Context { simple_key: true, ..key_context };
                self.scalar_analyzed(key, string_style(key), context, analysis);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar_analyzed(key, string_style(key), key_context, analysis);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, key_context);
        }
        self.restore_indent();
    }

    /// libyaml's scalar emission: pick the final style from the requested one and the scalar's
    /// analysis, then write it one level deeper than the current indent.
    fn scalar(&mut self, value: &str, requested: Style, context: Context) {
        self.scalar_analyzed(value, requested, context, analyze(value));
    }

    fn scalar_analyzed(
        &mut self,
        value: &str,
        requested: Style,
        context: Context,
        analysis: Analysis,
    ) {
        let mut style = requested;
        if context.simple_key && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            let plain_allowed = if self.flow_level > 0 {
                analysis.flow_plain_allowed
            } else {
                analysis.block_plain_allowed
            };
            if !plain_allowed || (value.is_empty() && (self.flow_level > 0 || context.simple_key)) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal
            && (!analysis.block_allowed || self.flow_level > 0 || context.simple_key)
        {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !context.simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.restore_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        // Fast path: a single-line value that cannot reach the folding column is copied whole.
        if !analysis_multiline(value) && (!allow_breaks || self.column + value.len() <= BEST_WIDTH)
        {
            self.copy_unfolded(value);
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut chars = value.chars().peekable();
        let mut spaces = false;
        let mut breaks = false;
        while let Some(c) = chars.next() {
            if c == ' ' {
                let next_is_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        if !value.contains('\'')
            && !analysis_multiline(value)
            && (!allow_breaks || self.column + value.len() <= BEST_WIDTH)
        {
            self.copy_unfolded(value);
            self.write_indicator("'", false, false, false);
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut chars = value.chars().peekable();
        let mut first = true;
        let mut spaces = false;
        let mut breaks = false;
        while let Some(c) = chars.next() {
            let is_first = std::mem::replace(&mut first, false);
            if c == ' ' {
                let next = chars.peek();
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && !is_first
                    && next.is_some()
                    && next != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        // libyaml checks for a byte-order mark at the start of the *value* while looking at
        // every character, so a leading BOM makes it escape the whole string.
        let starts_with_bom = value.starts_with('\u{feff}');
        if !starts_with_bom
            && (!allow_breaks || self.column + value.len() <= BEST_WIDTH)
            && value.chars().all(|c| is_printable(c) && !is_break(c) && c != '"' && c != '\\')
        {
            self.copy_unfolded(value);
            self.write_indicator("\"", false, false, false);
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut chars = value.chars().peekable();
        let mut first = true;
        let mut spaces = false;
        while let Some(c) = chars.next() {
            let is_first = std::mem::replace(&mut first, false);
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let code = c as u32;
                        let (marker, digits) = if code <= 0xFF {
                            ('x', 2)
                        } else if code <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(marker);
                        for k in (0..digits).rev() {
                            let digit = (code >> (k * 4)) & 0xF;
                            self.put(
                                char::from_digit(digit, 16).unwrap_or('0').to_ascii_uppercase(),
                            );
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && !is_first
                    && chars.peek().is_some()
                {
                    self.write_indent();
                    if chars.peek() == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // break, and the chomping indicator from how many breaks end it.
        if value.chars().next().is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut from_end = value.chars().rev();
        let chomp = match (from_end.next(), from_end.next()) {
            (None, _) => Some('-'),
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(before)) if is_break(before) => Some('+'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(&chomp.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut rest = value;
        while let Some(c) = rest.chars().next() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
                rest = &rest[c.len_utf8()..];
            } else {
                if breaks {
                    self.write_indent();
                }
                // A literal block never folds: copy the line up to the next break at once.
                let line_end = rest.find(is_break).unwrap_or(rest.len());
                self.copy_unfolded(&rest[..line_end]);
                self.indention = false;
                breaks = false;
                rest = &rest[line_end..];
            }
        }
    }
}

/// A string as go-yaml v2 reads it back from kustomize's JSON. Go's JSON encoder escapes every
/// line break except NEL (U+0085), and a raw line break inside a double-quoted YAML scalar is
/// folded: a run of spaces and NELs becomes one space, or one newline per NEL after the first.
fn after_json_round_trip(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let mut breaks_in_run = 0;
    let flush = |out: &mut String, run: &mut String, breaks: &mut usize| {
        match *breaks {
            0 => out.push_str(run),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
        run.clear();
        *breaks = 0;
    };
    for c in s.chars() {
        match c {
            ' ' => run.push(c),
            '\u{85}' => {
                run.push(c);
                breaks_in_run += 1;
            }
            _ => {
                flush(&mut out, &mut run, &mut breaks_in_run);
                out.push(c);
            }
        }
    }
    flush(&mut out, &mut run, &mut breaks_in_run);
    Cow::Owned(out)
}

/// Whether a value holds a line break (only then can plain output differ from a plain copy).
fn analysis_multiline(value: &str) -> bool {
    value.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'])
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable`, which (on UTF-8 bytes) also excludes every character outside the
/// Basic Multilingual Plane: emoji end up escaped in double quotes.
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD)
}

/// Whether libyaml's emitters (go-yaml v2 and v3 alike) may write this value as a block scalar
/// (`|` or `>`); otherwise they fall back to double quotes.
pub(super) fn block_style_allowed(value: &str) -> bool {
    analyze(value).block_allowed
}

/// What libyaml's `analyze_scalar` concludes about a scalar.
#[derive(Debug, Clone, Copy)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut chars = value.chars().peekable();
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let is_last = next.is_none();
        let followed_by_whitespace = matches!(next, None | Some(' ' | '\t'));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if is_last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if is_last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        i += 1;
    }

    let mut analysis = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.flow_plain_allowed = false;
        analysis.block_plain_allowed = false;
    }
    if trailing_space {
        analysis.block_allowed = false;
    }
    if break_space {
        analysis.flow_plain_allowed = false;
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        analysis.flow_plain_allowed = false;
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
        analysis.block_allowed = false;
    }
    if line_breaks {
        analysis.flow_plain_allowed = false;
        analysis.block_plain_allowed = false;
    }
    if flow_indicators {
        analysis.flow_plain_allowed = false;
    }
    if block_indicators {
        analysis.block_plain_allowed = false;
    }
    analysis
}

/// The style go-yaml v2's encoder asks for a string (the emitter may still override it).
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_non_string(s) || is_base60_float(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    }
}

/// Whether go-yaml v2 would read this text, unquoted, as something other than a string: YAML 1.1
/// booleans (`yes`, `on`, `y`...), null, numbers as Go parses them, timestamps. (The merge key
/// `<<` is in v2's table too, yet kustomize prints it plain: the recorded cases show it.)
fn resolves_to_non_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true; // the empty plain scalar is null
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "~"
        | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => return true,
        _ => {}
    }
    match first {
        b'.' => is_yaml_style_float(s) && parse_go_float(s).is_some(),
        b'0'..=b'9' | b'+' | b'-' => {
            if is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            parse_go_int(&plain).is_some()
                || (is_yaml_style_float(&plain) && parse_go_float(&plain).is_some())
        }
        _ => false,
    }
}

/// go-yaml v2 still quotes YAML 1.1 base-60 numbers (`1:20`):
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if !s.contains(':') {
        return false;
    }
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // `[0-5]?[0-9]`: one digit, or two with the first in 0-5.
        match (b.get(i), b.get(i + 1)) {
            (Some(d0 @ b'0'..=b'5'), Some(b'0'..=b'9')) => {
                let _ = d0;
                i += 2;
            }
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A float as it comes out of kustomize's JSON round trip: Go's JSON encoder writes it
/// (integral values without a fraction), go-yaml v2 reads that text back (as an integer when it
/// fits int64/uint64) and prints it (`strconv.FormatFloat(f, 'g', -1, 64)` for floats).
fn format_json_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // JSON wrote plain integer digits; v2 reads them as int64 or uint64 when they fit.
        // `i64::MAX as f64` and `u64::MAX as f64` are exactly 2^63 and 2^64.
        let two_pow_63 = i64::MAX as f64;
        let two_pow_64 = u64::MAX as f64;
        if (-two_pow_63..two_pow_63).contains(&f) {
            return (f as i64).to_string();
        }
        if (0.0..two_pow_64).contains(&f) {
            return (f as u64).to_string();
        }
    }
    format_go_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: shortest digits, `%e` form when the decimal
/// exponent is below -4 or at least 6 (e.g. `1e+06`, `1.5e-07`), `%f` form otherwise.
fn format_go_g(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d.ddddde[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{head}{dot}{tail}e{exp_sign}{:02}", exponent.abs());
    }
    // %f with exactly the digits needed.
    let point = exponent + 1; // digits before the decimal point
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if (point as usize) >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int_part, frac_part) = digits.split_at(point as usize);
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Sorts keys with go-yaml v2's order. That order is not transitive for some digit/letter mixes
/// (`a1b` < `a2` < `a10` < `a1b`), where Go's own output depends on random map iteration; the
/// standard library's sort may panic on such a comparator, so this is a plain merge sort, which
/// only ever asks "is b before a" and always terminates.
fn sort_keys(keys: &mut Vec<&str>) {
    if keys.len() <= 1 {
        return;
    }
    let right = keys.split_off(keys.len() / 2);
    let mut left = std::mem::take(keys);
    let mut right = right;
    sort_keys(&mut left);
    sort_keys(&mut right);
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if go_yaml_v2_key_order(b, a) == Ordering::Less {
            keys.extend(r.next());
        } else {
            keys.extend(l.next());
        }
    }
    keys.extend(l);
    keys.extend(r);
}

/// go-yaml v2's map key order (`keyList.Less` for string keys): character by character; letters
/// sort after non-letters; runs of digits compare by numeric value (so `a2` < `a10`).
fn go_yaml_v2_key_order(a: &str, b: &str) -> Ordering {
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn is_go_letter(c: char) -> bool {
    c.is_alphabetic()
}

fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // Same comparison on bytes, without collecting characters (keys are nearly always
        // ASCII).
        return natural_less(a.as_bytes(), b.as_bytes(), |&c| c as char);
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_less(&ar, &br, |&c| c)
}

/// `keyList.Less` on two keys given as characters (bytes for ASCII keys, chars otherwise).
fn natural_less<T: Copy>(ar: &[T], br: &[T], char_of: impl Fn(&T) -> char) -> bool {
    let a = |i: usize| char_of(&ar[i]);
    let b = |i: usize| char_of(&br[i]);
    for i in 0..ar.len().min(br.len()) {
        let (ac, bc) = (a(i), b(i));
        if ac == bc {
            continue;
        }
        let al = is_go_letter(ac);
        let bl = is_go_letter(bc);
        if al && bl {
            return ac < bc;
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ac == '0' || bc == '0' {
            // A zero inside a longer number (e.g. the 0 of "10") is not a leading zero.
            let mut j = i;
            while j > 0 && is_go_digit(a(j - 1)) {
                j -= 1;
                if a(j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_go_digit(a(ai)) {
            an = an.wrapping_mul(10).wrapping_add(a(ai) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_go_digit(b(bi)) {
            bn = bn.wrapping_mul(10).wrapping_add(b(bi) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ac < bc;
    }
    ar.len() < br.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    fn round(text: &str) -> String {
        emit_document(&parse_document(text, "t.yaml").expect("parses"))
    }

    #[test]
    fn keys_sort_in_go_yaml_v2_natural_order() {
        let mut keys = vec!["b", "a10", "a2", "A", "_x", "a", "1", "a02", "metadata", "apiVersion"];
        sort_keys(&mut keys);
        assert_eq!(keys, ["_x", "1", "A", "a", "a2", "a02", "a10", "apiVersion", "b", "metadata"]);
        // v2's order is not transitive (a1b < a2 < a10 < a1b); sorting such keys must still
        // terminate without panicking.
        let mut cyclic = vec!["a10", "a1b", "a2", "a10x", "a1"];
        sort_keys(&mut cyclic);
        assert_eq!(cyclic.len(), 5);
    }

    #[test]
    fn floats_print_as_after_the_json_round_trip() {
        assert_eq!(format_json_float(1.0), "1");
        assert_eq!(format_json_float(-0.0), "0");
        assert_eq!(format_json_float(1.5), "1.5");
        assert_eq!(format_json_float(1e20), "1e+20");
        assert_eq!(format_json_float(1e23), "1e+23");
        assert_eq!(format_json_float(1234567.5), "1.2345675e+06");
        assert_eq!(format_json_float(0.0001), "0.0001");
        assert_eq!(format_json_float(0.00001), "1e-05");
        assert_eq!(format_json_float(123456.5), "123456.5");
        // JSON writes 18446744073709551616, too big for uint64, so v2 reads a float.
        assert_eq!(format_json_float(1.8446744073709552e19), "1.8446744073709552e+19");
        assert_eq!(format_json_float(1e19), "10000000000000000000");
    }

    #[test]
    fn strings_are_quoted_when_they_would_read_back_as_another_type() {
        assert_eq!(round("a: 'yes'\n"), "a: \"yes\"\n");
        assert_eq!(round("a: '012'\n"), "a: \"012\"\n");
        assert_eq!(round("a: '1:20'\n"), "a: \"1:20\"\n");
        assert_eq!(round("a: ''\n"), "a: \"\"\n");
        assert_eq!(round("a: '2001-12-14'\n"), "a: \"2001-12-14\"\n");
        assert_eq!(round("a: 1_000\n"), "a: 1000\n");
        assert_eq!(round("a: '*star'\n"), "a: '*star'\n");
        assert_eq!(round("a: \"it's: x\"\n"), "a: 'it''s: x'\n");
        assert_eq!(round("a: \"tab\\there\"\n"), "a: \"tab\\there\"\n");
        assert_eq!(round("'': x\n"), "\"\": x\n");
        assert_eq!(round("a: []\nb: {}\nc: null\n"), "a: []\nb: {}\nc: null\n");
    }

    #[test]
    fn multi_line_strings_become_literal_blocks_with_chomping() {
        assert_eq!(round("a: \"x\\ny\"\n"), "a: |-\n  x\n  y\n");
        assert_eq!(round("a: \"x\\ny\\n\"\n"), "a: |\n  x\n  y\n");
        assert_eq!(round("a: \"x\\n\\n\"\nb: 1\n"), "a: |+\n  x\n\nb: 1\n");
        assert_eq!(round("a: \" x\\ny\"\n"), "a: |2-\n   x\n  y\n");
        // Trailing spaces on a line forbid the literal style.
        assert_eq!(round("a: \"x \\ny\"\n"), "a: \"x \\ny\"\n");
    }

    #[test]
    fn nel_folds_like_go_yaml_v2_reading_kustomizes_json() {
        assert_eq!(after_json_round_trip("a\u{85}b"), "a b");
        assert_eq!(after_json_round_trip("a \u{85}  b"), "a b");
        assert_eq!(after_json_round_trip("a\u{85}\u{85}\u{85}b"), "a\n\nb");
        assert_eq!(after_json_round_trip("a  b"), "a  b");
    }

    #[test]
    fn sequences_sit_at_their_keys_indent() {
        assert_eq!(
            round("a:\n  - x\n  - k: v\n    j: w\n  - [1, 2]\n"),
            "a:\n- x\n- j: w\n  k: v\n- - 1\n  - 2\n"
        );
    }

    #[test]
    fn long_plain_scalars_fold_at_80_columns() {
        let words = vec!["word"; 30].join(" ");
        let out = round(&format!("key: {words}\n"));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
        assert_eq!(
            parse_document(&out, "o").unwrap(),
            parse_document(&format!("key: {words}\n"), "i").unwrap()
        );
    }

    #[test]
    fn documents_are_joined_with_separators() {
        let docs =
            vec![parse_document("b: 1\n", "1").unwrap(), parse_document("a: x\n", "2").unwrap()];
        assert_eq!(emit_documents(&docs), "b: 1\n---\na: x\n");
        assert_eq!(emit_documents(&[]), "");
    }
}
