//! A small EDN reader: enough of the format for Jepsen histories.
//!
//! Supports nil, true/false, integers (with an optional `N`), floats, strings, characters,
//! keywords, symbols, lists, vectors, sets, maps, `;` comments, commas as whitespace, `#_`
//! discards and tagged literals (`#jepsen.history.Op{...}` reads as the tagged form).

use std::fmt;

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A keyword, without its leading colon.
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value of keyword `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries.iter().find(|(k, _)| matches!(k, Edn::Keyword(s) if s == key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The elements of a vector or list.
    pub fn seq(&self) -> Option<&[Edn]> {
        match self {
            Edn::Vector(v) | Edn::List(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Edn], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str(close)
        }
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Int(i) => write!(f, "{i}"),
            Edn::Float(x) => write!(f, "{x}"),
            Edn::Str(s) => write!(f, "{s:?}"),
            Edn::Keyword(k) => write!(f, ":{k}"),
            Edn::Symbol(s) => f.write_str(s),
            Edn::List(v) => seq(f, "(", v, ")"),
            Edn::Vector(v) => seq(f, "[", v, "]"),
            Edn::Set(v) => seq(f, "#{", v, "}"),
            Edn::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A syntax error at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EdnError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// A cursor over EDN text that tracks line and column.
pub(crate) struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
    /// Nesting depth, bounded so that hostile input cannot overflow the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 256;

fn is_delim(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';')
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader::at(text, 1, 1)
    }

    /// A reader whose first character is at `line`:`col` of some larger text.
    pub fn at(text: &'a str, line: usize, col: usize) -> Self {
        Reader { s: text.as_bytes(), pos: 0, line, col, depth: 0 }
    }

    /// Current 1-based (line, column).
    pub fn position(&self) -> (usize, usize) {
        (self.line, self.col)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError { line: self.line, col: self.col, message: message.into() })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            // Count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(c)
    }

    /// Skips whitespace, commas and comments; returns the next byte without consuming it.
    pub fn skip_ws(&mut self) -> Option<u8> {
        loop {
            match self.peek()? {
                c if c.is_ascii_whitespace() || c == b',' => {
                    self.bump();
                }
                b';' => {
                    while let Some(c) = self.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                c => return Some(c),
            }
        }
    }

    /// Consumes one byte (used by callers that walk a top-level collection themselves).
    pub fn consume(&mut self) {
        self.bump();
    }

    /// Reads one form; `Ok(None)` at end of input.
    pub fn read(&mut self) -> Result<Option<Edn>, EdnError> {
        loop {
            if self.skip_ws().is_none() {
                return Ok(None);
            }
            if self.s[self.pos..].starts_with(b"#_") {
                self.bump();
                self.bump();
                if self.read()?.is_none() {
                    return self.err("`#_` discards nothing: unexpected end of input");
                }
                continue;
            }
            return self.read_form().map(Some);
        }
    }

    fn read_form(&mut self) -> Result<Edn, EdnError> {
        let Some(c) = self.skip_ws() else {
            return self.err("unexpected end of input");
        };
        match c {
            b'(' | b'[' | b'{' => {
                if self.depth >= MAX_DEPTH {
                    return self.err("nesting too deep");
                }
                self.depth += 1;
                let open = (self.line, self.col);
                self.bump();
                let close = match c {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                };
                let items = self.read_until(close, open)?;
                self.depth -= 1;
                match c {
                    b'(' => Ok(Edn::List(items)),
                    b'[' => Ok(Edn::Vector(items)),
                    _ => self.pairs(items),
                }
            }
            b')' | b']' | b'}' => self.err(format!("unexpected `{}`", c as char)),
            b'"' => self.read_string(),
            b'#' => {
                self.bump();
                match self.peek() {
                    Some(b'{') => {
                        let open = (self.line, self.col - 1);
                        self.bump();
                        self.depth += 1;
                        let items = self.read_until(b'}', open)?;
                        self.depth -= 1;
                        Ok(Edn::Set(items))
                    }
                    Some(b'_') => {
                        self.bump();
                        self.read_form()?;
                        self.read_form()
                    }
                    Some(c) if c.is_ascii_alphabetic() => {
                        // A tagged literal: read the tag, then the form it tags.
                        let tag = self.read_token();
                        if self.skip_ws().is_none() {
                            return self.err(format!("tag #{tag} tags nothing"));
                        }
                        if self.depth >= MAX_DEPTH {
                            return self.err("nesting too deep");
                        }
                        self.depth += 1;
                        let v = self.read_form();
                        self.depth -= 1;
                        v
                    }
                    _ => self.err("unsupported dispatch `#`"),
                }
            }
            b'\\' => {
                self.bump();
                let tok = self.read_token();
                let ch = match tok.as_str() {
                    "newline" => "\n".to_string(),
                    "space" => " ".to_string(),
                    "tab" => "\t".to_string(),
                    "" => match self.bump() {
                        Some(c) => (c as char).to_string(),
                        None => return self.err("unexpected end of input after `\\`"),
                    },
                    t => t.to_string(),
                };
                Ok(Edn::Str(ch))
            }
            b':' => {
                self.bump();
                let tok = self.read_token();
                if tok.is_empty() {
                    return self.err("empty keyword");
                }
                Ok(Edn::Keyword(tok))
            }
            _ => {
                let (line, col) = (self.line, self.col);
                let tok = self.read_token();
                if tok.is_empty() {
                    return self.err(format!("unexpected character `{}`", c as char));
                }
                atom(&tok).ok_or_else(|| EdnError { line, col, message: format!("cannot read `{tok}`") })
            }
        }
    }

    fn read_until(&mut self, close: u8, open: (usize, usize)) -> Result<Vec<Edn>, EdnError> {
        let mut items = Vec::new();
        loop {
            match self.skip_ws() {
                None => {
                    return Err(EdnError {
                        line: open.0,
                        col: open.1,
                        message: format!("missing `{}` to close this: the input ends first", close as char),
                    })
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(_) => {
                    if self.s[self.pos..].starts_with(b"#_") {
                        self.bump();
                        self.bump();
                        self.read_form()?;
                        continue;
                    }
                    items.push(self.read_form()?);
                }
            }
        }
    }

    fn pairs(&self, items: Vec<Edn>) -> Result<Edn, EdnError> {
        if items.len() & 1 == 1 {
            return self.err("a map needs an even number of forms");
        }
        let mut it = items.into_iter();
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        Ok(Edn::Map(out))
    }

    fn read_token(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_delim(c) {
                break;
            }
            self.bump();
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn read_string(&mut self) -> Result<Edn, EdnError> {
        let (line, col) = (self.line, self.col);
        self.bump();
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.bump() {
                None => return Err(EdnError { line, col, message: "unterminated string".into() }),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b'"') => out.push(b'"'),
                    Some(b'\\') => out.push(b'\\'),
                    Some(b'u') => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            let Some(d) = self.bump().and_then(|c| (c as char).to_digit(16)) else {
                                return self.err("bad \\u escape");
                            };
                            code = code * 16 + d;
                        }
                        let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    Some(c) => return self.err(format!("unknown escape `\\{}`", c as char)),
                    None => return self.err("unterminated string"),
                },
                Some(c) => out.push(c),
            }
        }
        Ok(Edn::Str(String::from_utf8_lossy(&out).into_owned()))
    }
}

fn atom(tok: &str) -> Option<Edn> {
    match tok {
        "nil" => return Some(Edn::Nil),
        "true" => return Some(Edn::Bool(true)),
        "false" => return Some(Edn::Bool(false)),
        _ => {}
    }
    let first = tok.as_bytes()[0];
    let numeric = first.is_ascii_digit()
        || ((first == b'-' || first == b'+') && tok.len() > 1 && tok.as_bytes()[1].is_ascii_digit());
    if numeric {
        let t = tok.strip_suffix('N').unwrap_or(tok);
        if let Ok(i) = t.parse::<i64>() {
            return Some(Edn::Int(i));
        }
        let t = tok.strip_suffix('M').unwrap_or(tok);
        return t.parse::<f64>().ok().map(Edn::Float);
    }
    Some(Edn::Symbol(tok.to_string()))
}

/// Parses a whole string as exactly one form.
pub(crate) fn parse_one(text: &str) -> Result<Edn, EdnError> {
    let mut r = Reader::new(text);
    let Some(v) = r.read()? else {
        return r.err("expected a value");
    };
    if r.skip_ws().is_some() {
        return r.err("unexpected text after the value");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jepsen_op_maps() {
        let v = parse_one(r#"{:process 9, :type :invoke, :f :append, :key "0", :value "x 9 0 y"}"#).unwrap();
        assert_eq!(v.get("process"), Some(&Edn::Int(9)));
        assert_eq!(v.get("type"), Some(&Edn::Keyword("invoke".into())));
        assert_eq!(v.get("value"), Some(&Edn::Str("x 9 0 y".into())));
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn reads_everything_else() {
        let v = parse_one(
            "[nil true false -3 12N 1.5 \"a\\\"b\" :k sym #{1 2} (1 2) #_ 5 #jepsen.history.Op{:a 1} \\c] ; done",
        )
        .unwrap();
        let items = v.seq().unwrap();
        assert_eq!(items[0], Edn::Nil);
        assert_eq!(items[1], Edn::Bool(true));
        assert_eq!(items[3], Edn::Int(-3));
        assert_eq!(items[4], Edn::Int(12));
        assert_eq!(items[5], Edn::Float(1.5));
        assert_eq!(items[6], Edn::Str("a\"b".into()));
        assert_eq!(items[7], Edn::Keyword("k".into()));
        assert_eq!(items[8], Edn::Symbol("sym".into()));
        assert!(matches!(items[9], Edn::Set(_)));
        assert!(matches!(items[10], Edn::List(_)));
        assert_eq!(items[11].get("a"), Some(&Edn::Int(1)));
        assert_eq!(items[12], Edn::Str("c".into()));
        assert_eq!(items.len(), 13);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_one("{:a 1\n :b [1 2}").unwrap_err();
        assert_eq!((e.line, e.col), (2, 9), "{e:?}");
        let e = parse_one("{:a}").unwrap_err();
        assert!(e.message.contains("even"), "{e:?}");
        let e = parse_one("\n  \"abc").unwrap_err();
        assert_eq!((e.line, e.col), (2, 3));
        assert!(parse_one(&"[".repeat(10_000)).is_err());
        assert!(parse_one("").is_err());
        assert!(parse_one("1 2").is_err());
    }
}
