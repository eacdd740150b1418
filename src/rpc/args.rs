//! A command's arguments and options, read from the request as go-ipfs-cmds reads them
//! (`http/parse.go`, `option.go`): every `arg` in the query is an argument, in order, after
//! the one a path segment past the command gives (`/api/v0/block/get/<cid>`); every other
//! key is an option, under its name or one of its aliases, the first value counting. Options a
//! command does not know are ignored. A value that does not convert to the option's type, or
//! a missing required argument, is a `400` with go-ipfs-cmds' words.

use std::borrow::Cow;

use crate::http::go_query::Query;

use super::reply::Failure;

/// The arguments and options of one request.
pub struct Args<'q> {
    args: Vec<String>,
    query: Query<'q>,
    /// Whether the client takes trailer fields (HTTP/2, or `TE: trailers`).
    trailers: bool,
}

impl<'q> Args<'q> {
    /// Reads a request's query (`raw`, without `?`) and the path segment after the command.
    pub fn parse(raw: &'q str, path_arg: Option<&str>) -> Args<'q> {
        let query = Query::parse(raw);
        // Go hands the handler a decoded `URL.Path` (`%XX` decoded, `+` itself).
        let mut args: Vec<String> = path_arg
            .map(|segment| {
                percent_encoding::percent_decode_str(segment)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .into_iter()
            .collect();
        args.extend(
            query
                .pairs()
                .filter(|(k, _)| *k == "arg")
                .map(|(_, v)| v.to_owned()),
        );
        Args {
            args,
            query,
            trailers: true,
        }
    }

    /// Records whether the client takes trailer fields (an error after a stream began is the
    /// `X-Stream-Error` trailer for one that does, a cut connection for one that does not).
    pub fn with_trailers(mut self, allowed: bool) -> Self {
        self.trailers = allowed;
        self
    }

    pub fn trailers(&self) -> bool {
        self.trailers
    }

    /// Every argument, in order.
    pub fn all(&self) -> &[String] {
        &self.args
    }

    /// The first argument, which the command requires (`name` is how Kubo names it).
    pub fn required(&self, name: &str) -> Result<&str, Failure> {
        self.args
            .first()
            .map(String::as_str)
            .ok_or_else(|| missing(name))
    }

    /// At least one argument, which the command requires.
    pub fn required_all(&self, name: &str) -> Result<&[String], Failure> {
        if self.args.is_empty() {
            return Err(missing(name));
        }
        Ok(&self.args)
    }

    /// The raw value of the option named by any of `names` (its name, then its aliases).
    fn raw(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.query.get_opt(n))
    }

    /// A string option.
    pub fn string(&self, names: &[&str]) -> Option<&str> {
        self.raw(names)
    }

    /// A bool option: an empty value is `true`, else Go's `strconv.ParseBool` of the value in
    /// lower case.
    pub fn bool(&self, names: &[&str], default: bool) -> Result<bool, Failure> {
        let Some(value) = self.raw(names) else {
            return Ok(default);
        };
        if value.is_empty() {
            return Ok(true);
        }
        match value.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(true),
            "0" | "f" | "false" => Ok(false),
            _ => Err(unconvertible(value, "bool", names[0])),
        }
    }

    /// An int option: Go's `strconv.ParseInt(v, 0, 32)` (a sign, then decimal, or `0x`, `0o`,
    /// `0b` or a leading `0` for octal).
    pub fn int(&self, names: &[&str], default: i32) -> Result<i32, Failure> {
        let Some(value) = self.raw(names) else {
            return Ok(default);
        };
        parse_go_int(value).ok_or_else(|| unconvertible(value, "int", names[0]))
    }
}

fn missing(name: &str) -> Failure {
    Failure::request(format!("argument {name:?} is required"))
}

fn unconvertible(value: &str, kind: &str, option: &str) -> Failure {
    Failure::request(format!(
        "could not convert value {value:?} to type {kind:?} (for option \"-{option}\")"
    ))
}

/// `strconv.ParseInt(s, 0, 32)`, underscores aside.
fn parse_go_int(s: &str) -> Option<i32> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower: Cow<'_, str> = Cow::Owned(digits.to_ascii_lowercase());
    let (radix, body) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = lower.strip_prefix("0o") {
        (8, octal)
    } else if let Some(binary) = lower.strip_prefix("0b") {
        (2, binary)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, &lower[..])
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i64::from_str_radix(body, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    i32::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_from_the_path_then_the_query() {
        let args = Args::parse("arg=b&x=1&arg=c%20d", Some("a%2Fb"));
        assert_eq!(args.all(), ["a/b", "b", "c d"]);
        assert_eq!(args.required("cid").unwrap(), "a/b");
        let none = Args::parse("", None);
        let failure = none.required("ipfs-path").unwrap_err();
        assert_eq!(failure.message(), "argument \"ipfs-path\" is required");
    }

    #[test]
    fn options_convert_as_go_ipfs_cmds_converts_them() {
        let args = Args::parse("r=false&stream=&progress=TRUE&mhlen=0x20&n=maybe", None);
        assert!(!args.bool(&["recursive", "r"], true).unwrap());
        assert!(args.bool(&["stream", "s"], false).unwrap());
        assert!(args.bool(&["progress"], false).unwrap());
        assert!(args.bool(&["quiet", "q"], true).unwrap());
        assert_eq!(args.int(&["mhlen"], -1).unwrap(), 32);
        assert_eq!(args.int(&["other"], -1).unwrap(), -1);
        assert_eq!(
            args.bool(&["name", "n"], false).unwrap_err().message(),
            "could not convert value \"maybe\" to type \"bool\" (for option \"-name\")"
        );
        for (text, want) in [
            ("-1", Some(-1)),
            ("010", Some(8)),
            ("0b11", Some(3)),
            ("abc", None),
            ("", None),
            ("99999999999", None),
        ] {
            assert_eq!(parse_go_int(text), want, "{text}");
        }
    }
}
