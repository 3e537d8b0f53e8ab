//! The value half of Hydra's override grammar, as hydra-core 1.3 defines it
//! (`hydra/grammar/OverrideLexer.g4` VALUE_MODE and `OverrideParser.g4`), so an
//! override means here what it means to Hydra: `007` is the string "007" (an int
//! never has a leading zero), `1_000` is 1000, `a\ b` is "a b", `.5`, `1e5`,
//! `inf`, `nan`, `TRUE`, `NuLL` are what Python would make of them, and a value
//! of several tokens (`x/y.z`, `hi there`) is one string.
//!
//! The lexer takes the longest match at each position, ties going to the rule
//! that comes first in the grammar, as ANTLR does.

/// A parsed value with Python's types.
#[derive(Clone, Debug, PartialEq)]
pub enum HydraValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<HydraValue>),
    Dict(Vec<(String, HydraValue)>),
}

/// What a whole value is: one element, a comma sweep (`a,b`), or a function
/// call (`range(1,5)`, `choice(a,b)`), the last two being sweeps in Hydra.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Element(HydraValue),
    Sweep(Vec<HydraValue>),
    Function(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    POpen,
    Comma,
    PClose,
    BracketOpen,
    BracketClose,
    BraceOpen,
    BraceClose,
    Colon(String),
    Equal,
    Float(String),
    Int(String),
    Bool(bool),
    Null,
    Unquoted(char),
    Id(String),
    Esc(String),
    Ws(String),
    Quoted(String),
    Interpolation(String),
}

fn ws_len(c: &[char], i: usize) -> usize {
    c[i..].iter().take_while(|&&x| x == ' ' || x == '\t').count()
}

/// `WS? ch WS?` (or without the trailing/leading WS): the bracket-like tokens.
fn punct(c: &[char], i: usize, ch: char, lead: bool, trail: bool) -> usize {
    let mut j = i;
    if lead {
        j += ws_len(c, j);
    }
    if c.get(j) != Some(&ch) {
        return 0;
    }
    j += 1;
    if trail {
        j += ws_len(c, j);
    }
    j - i
}

/// DIGIT (('_')? DIGIT)*
fn digits(c: &[char], i: usize) -> usize {
    if !c.get(i).is_some_and(char::is_ascii_digit) {
        return 0;
    }
    let mut j = i + 1;
    loop {
        if c.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        } else if c.get(j) == Some(&'_') && c.get(j + 1).is_some_and(char::is_ascii_digit) {
            j += 2;
        } else {
            return j - i;
        }
    }
}

/// INT_UNSIGNED: '0' | [1-9] (('_')? DIGIT)*
fn int_unsigned(c: &[char], i: usize) -> usize {
    match c.get(i) {
        Some('0') => 1,
        Some(d) if d.is_ascii_digit() => digits(c, i),
        _ => 0,
    }
}

/// POINT_FLOAT: INT_UNSIGNED '.' | INT_UNSIGNED? '.' DIGIT (('_')? DIGIT)*
fn point_float(c: &[char], i: usize) -> usize {
    let n = int_unsigned(c, i);
    let mut best = 0;
    if c.get(i + n) == Some(&'.') {
        if n > 0 {
            best = n + 1;
        }
        let frac = digits(c, i + n + 1);
        if frac > 0 {
            best = best.max(n + 1 + frac);
        }
    }
    best
}

/// EXPONENT_FLOAT: (INT_UNSIGNED | POINT_FLOAT) [eE] [+-]? DIGIT (('_')? DIGIT)*
fn exponent_float(c: &[char], i: usize) -> usize {
    let mut best = 0;
    for mantissa in [int_unsigned(c, i), point_float(c, i)] {
        if mantissa == 0 || !matches!(c.get(i + mantissa), Some('e' | 'E')) {
            continue;
        }
        let mut j = i + mantissa + 1;
        if matches!(c.get(j), Some('+' | '-')) {
            j += 1;
        }
        let d = digits(c, j);
        if d > 0 {
            best = best.max(j + d - i);
        }
    }
    best
}

fn word_ci(c: &[char], i: usize, word: &str) -> usize {
    let n = word.chars().count();
    let ok = c.len() >= i + n && c[i..i + n].iter().zip(word.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b));
    if ok { n } else { 0 }
}

fn float_len(c: &[char], i: usize) -> usize {
    let s = usize::from(matches!(c.get(i), Some('+' | '-')));
    let body = [point_float(c, i + s), exponent_float(c, i + s), word_ci(c, i + s, "inf"), word_ci(c, i + s, "nan")]
        .into_iter()
        .max()
        .unwrap_or(0);
    if body == 0 { 0 } else { s + body }
}

fn int_len(c: &[char], i: usize) -> usize {
    let s = usize::from(matches!(c.get(i), Some('+' | '-')));
    let body = int_unsigned(c, i + s);
    if body == 0 { 0 } else { s + body }
}

fn id_len(c: &[char], i: usize) -> usize {
    if !c.get(i).is_some_and(|x| x.is_ascii_alphabetic() || *x == '_') {
        return 0;
    }
    1 + c[i + 1..].iter().take_while(|x| x.is_ascii_alphanumeric() || **x == '_' || **x == '-').count()
}

fn esc_len(c: &[char], i: usize) -> usize {
    let mut j = i;
    while c.get(j) == Some(&'\\') && c.get(j + 1).is_some_and(|x| "\\()[]{}:=, \t".contains(*x)) {
        j += 2;
    }
    j - i
}

/// The shortest quoted string whose closing quote has an even number of
/// backslashes before it.
fn quoted_len(c: &[char], i: usize) -> usize {
    let Some(&q) = c.get(i).filter(|x| **x == '"' || **x == '\'') else { return 0 };
    let mut j = i + 1;
    while j < c.len() {
        if c[j] == q {
            let backslashes = c[i + 1..j].iter().rev().take_while(|x| **x == '\\').count();
            if backslashes % 2 == 0 {
                return j + 1 - i;
            }
        }
        j += 1;
    }
    0
}

fn interpolation_len(c: &[char], i: usize) -> usize {
    if c.get(i) != Some(&'$') || c.get(i + 1) != Some(&'{') {
        return 0;
    }
    let inner = c[i + 2..].iter().take_while(|x| **x != '}').count();
    if inner > 0 && c.get(i + 2 + inner) == Some(&'}') { inner + 3 } else { 0 }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let text_of = |n: usize| c[i..i + n].iter().collect::<String>();
        // Candidates in the grammar's rule order; the longest wins, the first on ties.
        let candidates: [(usize, u8); 19] = [
            (punct(&c, i, '(', true, true), 0),
            (punct(&c, i, ',', true, true), 1),
            (punct(&c, i, ')', true, false), 2),
            (punct(&c, i, '[', false, true), 3),
            (punct(&c, i, ']', true, false), 4),
            (punct(&c, i, '{', false, true), 5),
            (punct(&c, i, '}', true, false), 6),
            (punct(&c, i, ':', true, true), 7),
            (punct(&c, i, '=', true, true), 8),
            (float_len(&c, i), 9),
            (int_len(&c, i), 10),
            (word_ci(&c, i, "true").max(word_ci(&c, i, "false")), 11),
            (word_ci(&c, i, "null"), 12),
            (usize::from("/-\\+.$%*@?|".contains(c[i])), 13),
            (id_len(&c, i), 14),
            (esc_len(&c, i), 15),
            (ws_len(&c, i), 16),
            (quoted_len(&c, i), 17),
            (interpolation_len(&c, i), 18),
        ];
        let (n, rule) = candidates.iter().fold((0, 0), |best, &(n, r)| if n > best.0 { (n, r) } else { best });
        if n == 0 {
            return Err(format!("unexpected character '{}' at column {}: quote the value, or escape it with \\", c[i], i + 1));
        }
        let t = text_of(n);
        out.push(match rule {
            0 => Tok::POpen,
            1 => Tok::Comma,
            2 => Tok::PClose,
            3 => Tok::BracketOpen,
            4 => Tok::BracketClose,
            5 => Tok::BraceOpen,
            6 => Tok::BraceClose,
            7 => Tok::Colon(t),
            8 => Tok::Equal,
            9 => Tok::Float(t),
            10 => Tok::Int(t),
            11 => Tok::Bool(t.eq_ignore_ascii_case("true")),
            12 => Tok::Null,
            13 => Tok::Unquoted(c[i]),
            14 => Tok::Id(t),
            15 => Tok::Esc(t),
            16 => Tok::Ws(t),
            17 => Tok::Quoted(t),
            _ => Tok::Interpolation(t),
        });
        i += n;
    }
    Ok(out)
}

/// Hydra's `_unescape_quoted_string`: only backslashes right before a quote
/// character are escapes (`\"` is `"`, `\\"` at the end is `\`).
fn unescape_quoted(raw: &str) -> String {
    let c: Vec<char> = raw.chars().collect();
    let q = c[0];
    let text = &c[1..]; // the closing quote stays, as in Hydra
    let mut out = String::new();
    let mut i = 0;
    loop {
        // The leftmost run of backslashes followed by the quote character.
        let found = (i..text.len()).find(|&s| {
            text[s] == '\\' && {
                let run = text[s..].iter().take_while(|x| **x == '\\').count();
                text.get(s + run) == Some(&q)
            }
        });
        let Some(start) = found else { break };
        let run = text[start..].iter().take_while(|x| **x == '\\').count();
        let stop = start + run + 1;
        out.extend(&text[i..start]);
        out.extend(text[start + 1..stop].iter().step_by(2));
        i = stop;
    }
    if text.len() - i > 1 {
        out.extend(&text[i..text.len() - 1]);
    }
    out
}

/// Python's int() of an INT token (underscores between digits allowed).
fn to_int(t: &str) -> Result<i64, String> {
    t.replace('_', "").parse::<i64>().map_err(|_| format!("integer {t} is out of range"))
}

/// Python's float() of a FLOAT token.
fn to_float(t: &str) -> Result<f64, String> {
    t.replace('_', "").to_ascii_lowercase().parse::<f64>().map_err(|_| format!("'{t}' is not a number"))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_primitive_tok(t: &Tok, in_key: bool) -> bool {
        match t {
            Tok::Id(_) | Tok::Null | Tok::Int(_) | Tok::Float(_) | Tok::Bool(_) | Tok::Unquoted(_) | Tok::Esc(_) | Tok::Ws(_) => true,
            Tok::Interpolation(_) | Tok::Colon(_) => !in_key,
            _ => false,
        }
    }

    fn element(&mut self) -> Result<Parsed, String> {
        match self.peek() {
            Some(Tok::BracketOpen) => {
                let items = self.items(&Tok::BracketClose, "a list", |p| p.plain_element("a list"))?;
                Ok(Parsed::Element(HydraValue::List(items)))
            }
            Some(Tok::BraceOpen) => {
                let items = self.items(&Tok::BraceClose, "a dict", |p| {
                    let key = match p.primitive(true)? {
                        HydraValue::Str(s) => s,
                        other => python_str(&other),
                    };
                    if !matches!(p.peek(), Some(Tok::Colon(_))) {
                        return Err(format!("dict key '{key}' needs ':' and a value"));
                    }
                    p.pos += 1;
                    Ok((key, p.plain_element("a dict")?))
                })?;
                Ok(Parsed::Element(HydraValue::Dict(items)))
            }
            Some(Tok::Id(name)) if self.toks.get(self.pos + 1) == Some(&Tok::POpen) => {
                let name = name.clone();
                let mut depth = 0usize;
                while let Some(t) = self.peek() {
                    match t {
                        Tok::POpen => depth += 1,
                        Tok::PClose => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Ok(Parsed::Function(name));
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                Err(format!("{name}( has no closing ')'"))
            }
            Some(Tok::Quoted(q)) => {
                let v = HydraValue::Str(unescape_quoted(q));
                self.pos += 1;
                Ok(Parsed::Element(v))
            }
            _ => Ok(Parsed::Element(self.primitive(false)?)),
        }
    }

    /// `open item (',' item)* close`, the shape lists and dicts share; at the opening token.
    fn items<T>(&mut self, close: &Tok, what: &str, mut item: impl FnMut(&mut Self) -> Result<T, String>) -> Result<Vec<T>, String> {
        self.pos += 1;
        let mut out = Vec::new();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(t) if t == close => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(format!("{what} needs ',' between items and a closing {}", describe(close))),
            }
        }
    }

    /// An element inside a list or dict (no functions there for our configs).
    fn plain_element(&mut self, inside: &str) -> Result<HydraValue, String> {
        match self.element()? {
            Parsed::Element(v) => Ok(v),
            _ => Err(format!("sweeps and functions cannot appear inside {inside}")),
        }
    }

    /// A run of primitive tokens: one token keeps its type, several make a string.
    fn primitive(&mut self, in_key: bool) -> Result<HydraValue, String> {
        let start = self.pos;
        while self.peek().is_some_and(|t| Self::is_primitive_tok(t, in_key)) {
            self.pos += 1;
        }
        let mut toks = &self.toks[start..self.pos];
        if toks.is_empty() {
            return Err(match self.peek() {
                Some(t) => format!("unexpected {}", describe(t)),
                None => "a value is missing".into(),
            });
        }
        if toks.iter().all(|t| matches!(t, Tok::Ws(_))) {
            return Err("a value cannot be only whitespace".into());
        }
        while let Some((Tok::Ws(_), rest)) = toks.split_first() {
            toks = rest;
        }
        while let Some((Tok::Ws(_), rest)) = toks.split_last() {
            toks = rest;
        }
        if let [single] = toks {
            return Ok(match single {
                Tok::Int(t) => HydraValue::Int(to_int(t)?),
                Tok::Float(t) => HydraValue::Float(to_float(t)?),
                Tok::Bool(b) => HydraValue::Bool(*b),
                Tok::Null => HydraValue::Null,
                other => HydraValue::Str(token_text(other)),
            });
        }
        Ok(HydraValue::Str(toks.iter().map(token_text).collect()))
    }
}

fn token_text(t: &Tok) -> String {
    match t {
        Tok::Esc(s) => s.chars().skip(1).step_by(2).collect(),
        Tok::Id(s) | Tok::Int(s) | Tok::Float(s) | Tok::Ws(s) | Tok::Colon(s) | Tok::Interpolation(s) => s.clone(),
        Tok::Unquoted(ch) => ch.to_string(),
        Tok::Bool(b) => {
            if *b {
                "true".into()
            } else {
                "false".into()
            }
        }
        Tok::Null => "null".into(),
        other => describe(other),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::POpen => "'('".into(),
        Tok::Comma => "','".into(),
        Tok::PClose => "')'".into(),
        Tok::BracketOpen => "'['".into(),
        Tok::BracketClose => "']'".into(),
        Tok::BraceOpen => "'{'".into(),
        Tok::BraceClose => "'}'".into(),
        Tok::Equal => "'='".into(),
        Tok::Quoted(q) => format!("quoted string {q} (quotes must enclose the whole value)"),
        other => format!("'{}'", token_text(other)),
    }
}

/// Python's `str()` of a value (how OmegaConf turns it into a string field).
pub fn python_str(v: &HydraValue) -> String {
    match v {
        HydraValue::Null => "None".into(),
        HydraValue::Bool(b) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
        HydraValue::Int(i) => i.to_string(),
        HydraValue::Float(f) => python_float_repr(*f),
        HydraValue::Str(s) => s.clone(),
        HydraValue::List(items) => format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        HydraValue::Dict(items) => {
            format!("{{{}}}", items.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

fn python_repr(v: &HydraValue) -> String {
    match v {
        HydraValue::Str(s) => format!("'{s}'"),
        other => python_str(other),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16 on, `.0` on integral values.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}"); // e.g. 1e-5, 1.5e16
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("+", exp));
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Parses an override's value (the text after `=`) with Hydra's grammar.
pub fn parse(text: &str) -> Result<Parsed, String> {
    // Hydra's EQUAL token swallows the whitespace after '='.
    let text = text.trim_start_matches([' ', '\t']);
    if text.is_empty() {
        return Ok(Parsed::Element(HydraValue::Str(String::new())));
    }
    let mut p = Parser { toks: tokenize(text)?, pos: 0 };
    let first = p.element()?;
    if p.peek().is_none() {
        return Ok(first);
    }
    let mut items = vec![match first {
        Parsed::Element(v) => v,
        Parsed::Function(name) => return Err(format!("{name}(...) cannot be followed by more values")),
        Parsed::Sweep(_) => return Err("nested sweep".into()),
    }];
    while p.peek() == Some(&Tok::Comma) {
        p.pos += 1;
        items.push(p.plain_element("a sweep")?);
    }
    match p.peek() {
        None => Ok(Parsed::Sweep(items)),
        Some(t) => Err(format!("unexpected {} after the value", describe(t))),
    }
}

#[cfg(test)]
mod tests {
    use super::HydraValue::*;
    use super::*;

    fn v(text: &str) -> HydraValue {
        match parse(text).unwrap_or_else(|e| panic!("{text}: {e}")) {
            Parsed::Element(v) => v,
            other => panic!("{text}: {other:?}"),
        }
    }

    /// Each case as hydra-core 1.3's OverridesParser parses `a=<text>`.
    #[test]
    fn values_mean_what_they_mean_to_hydra() {
        assert_eq!(v("007"), Str("007".into()));
        assert_eq!(v("1_000"), Int(1000));
        assert_eq!(v("a\\ b"), Str("a b".into()));
        assert_eq!(v(".5"), Float(0.5));
        assert_eq!(v("1e5"), Float(100000.0));
        assert_eq!(v("-inf"), Float(f64::NEG_INFINITY));
        assert!(matches!(v("NaN"), Float(f) if f.is_nan()));
        assert_eq!(v("TRUE"), Bool(true));
        assert_eq!(v("NuLL"), Null);
        assert_eq!(v("lin_1e-3"), Str("lin_1e-3".into()));
        assert_eq!(v("\"x,y\""), Str("x,y".into()));
        assert_eq!(v("[1, 2,3]"), List(vec![Int(1), Int(2), Int(3)]));
        assert_eq!(v("[]"), List(vec![]));
        assert_eq!(v("'it\\'s'"), Str("it's".into()));
        assert_eq!(v("3."), Float(3.0));
        assert_eq!(v("+5"), Int(5));
        assert_eq!(v("1_0.5e1_0"), Float(105000000000.0));
        assert_eq!(v("  hi there  "), Str("hi there".into()));
        assert_eq!(v("x/y.z"), Str("x/y.z".into()));
        assert_eq!(v("{a:1,b:[2]}"), Dict(vec![("a".into(), Int(1)), ("b".into(), List(vec![Int(2)]))]));
        assert_eq!(v("abc\\,d"), Str("abc,d".into()));
        assert_eq!(v(""), Str(String::new()));
        assert_eq!(v("0x10"), Str("0x10".into()));
        assert_eq!(v("1e"), Str("1e".into()));
        assert_eq!(v("01.5"), Str("01.5".into()));
        assert_eq!(v("-0"), Int(0));
        assert_eq!(v("2e-4"), Float(2e-4));
        assert_eq!(v("\"\""), Str(String::new()));
        assert_eq!(v("\"a\\\\\""), Str("a\\".into()));
        assert_eq!(parse("1,2").unwrap(), Parsed::Sweep(vec![Int(1), Int(2)]));
        assert_eq!(parse("range(1,5)").unwrap(), Parsed::Function("range".into()));
        assert!(parse("[1,2").is_err());
        assert!(parse("a\"b\"").is_err());
        assert!(parse("é").is_err());
    }

    #[test]
    fn python_reprs() {
        assert_eq!(python_float_repr(1000.0), "1000.0");
        assert_eq!(python_float_repr(1e-5), "1e-05");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(1.5e16), "1.5e+16");
        assert_eq!(python_float_repr(0.1), "0.1");
        assert_eq!(python_str(&Bool(true)), "True");
    }
}
