//! `topicsPattern` of the v3 consumer (protocol.md §1.2, §2.1): which topics a pattern
//! subscription covers.
//!
//! What Pulsar 4.0.7's broker-embedded service does, checked on the real broker: the pattern's
//! namespace is that of `TopicName.get(pattern)` (a short pattern lands in `public/default`); the
//! candidates are the persistent topics of that namespace; the pattern, with any `scheme://`
//! removed, must match the whole topic name with its scheme removed (`tenant/ns/topic`). So
//! `persistent://public/default/orders-.*` and `public/default/orders-.*` cover
//! `persistent://public/default/orders-eu`, while `orders-.*` (nothing to match `public/default/`)
//! and `persistent://public/default/orders` (a prefix only) cover nothing. Topics created later
//! that match are added to the subscription (the broker's topic-list watcher does that within
//! about a second).
//!
//! The regular expression is matched by a small hand-written matcher, not a regex engine: literal
//! characters, `.` (any character), `\` followed by a character (that character, literally), each
//! optionally followed by `*`, `+` or `?`. Any other regex syntax (`[ ] ( ) { } | ^ $`, or a
//! quantifier with nothing to repeat) is refused at the handshake with 400 "Invalid query params:
//! ...", which the real server also answers to a pattern Java cannot compile (an unclosed group,
//! say) — but the real server accepts the rest of Java's syntax.

/// What one piece of the pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    /// `.`
    Any,
    /// A literal character (or an escaped one).
    Char(char),
}

impl Atom {
    fn accepts(self, c: char) -> bool {
        match self {
            Atom::Any => c != '\n' && c != '\r',
            Atom::Char(x) => x == c,
        }
    }
}

/// An atom with its repetition bounds: `x` is 1..=1, `x?` 0..=1, `x*` 0.., `x+` 1...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    min: usize,
    /// `None`: unbounded.
    max: Option<usize>,
}

/// A compiled `topicsPattern`.
#[derive(Debug, Clone)]
pub(crate) struct TopicPattern {
    /// `tenant/namespace` whose topics are candidates.
    namespace: String,
    pieces: Vec<Piece>,
}

/// `scheme://rest` → `rest`; no scheme → unchanged.
fn without_scheme(name: &str) -> &str {
    name.split_once("://").map_or(name, |(_, rest)| rest)
}

impl TopicPattern {
    /// Compiles `source` (the raw `topicsPattern` value). `full_name` is `TopicName.get(source)`:
    /// it gives the namespace. `Err` holds the message of the 400 answer.
    pub(crate) fn parse(source: &str, full_name: &str) -> Result<TopicPattern, String> {
        let namespace = without_scheme(full_name)
            .splitn(3, '/')
            .take(2)
            .collect::<Vec<_>>()
            .join("/");
        let regex = without_scheme(source);
        let unsupported = |what: &str, at: usize| {
            Err(format!(
                "MockPulsar's topicsPattern matcher supports only literal characters, '.', '\\' \
                 escapes and the quantifiers '*', '+', '?'; {what} near index {at}\n{regex}"
            ))
        };
        let mut pieces: Vec<Piece> = Vec::new();
        let mut chars = regex.chars().enumerate();
        while let Some((at, c)) = chars.next() {
            let atom = match c {
                '.' => Atom::Any,
                '\\' => match chars.next() {
                    Some((_, e)) if !e.is_ascii_alphanumeric() => Atom::Char(e),
                    Some((_, e)) => return unsupported(&format!("escape \\{e}"), at),
                    None => return unsupported("a trailing '\\'", at),
                },
                '*' | '+' | '?' => {
                    let Some(last) = pieces.last_mut() else {
                        return unsupported(&format!("dangling '{c}'"), at);
                    };
                    if (last.min, last.max) != (1, Some(1)) {
                        return unsupported(&format!("a second quantifier '{c}'"), at);
                    }
                    (last.min, last.max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    continue;
                }
                '[' | ']' | '(' | ')' | '{' | '}' | '|' | '^' | '$' => {
                    return unsupported(&format!("'{c}'"), at)
                }
                c => Atom::Char(c),
            };
            pieces.push(Piece {
                atom,
                min: 1,
                max: Some(1),
            });
        }
        Ok(TopicPattern { namespace, pieces })
    }

    /// Whether the subscription covers `topic` (a full name, `persistent://tenant/ns/name`).
    pub(crate) fn covers(&self, topic: &str) -> bool {
        let Some(rest) = topic.strip_prefix("persistent://") else {
            return false; // RegexSubscriptionMode.PersistentOnly, the Java default
        };
        let in_namespace = rest
            .strip_prefix(self.namespace.as_str())
            .is_some_and(|r| r.starts_with('/'));
        in_namespace && self.matches(rest)
    }

    /// Whole-string match (Java's `Matcher.matches`), by dynamic programming: `ok[i][j]` says
    /// whether `pieces[i..]` matches `text[j..]`.
    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (m, n) = (self.pieces.len(), text.len());
        let mut ok = vec![vec![false; n + 1]; m + 1];
        ok[m][n] = true;
        for i in (0..m).rev() {
            let p = self.pieces[i];
            for j in (0..=n).rev() {
                // Take k characters with this piece, k within its bounds.
                let mut k = 0;
                loop {
                    if k >= p.min && ok[i + 1][j + k] {
                        ok[i][j] = true;
                        break;
                    }
                    if p.max.is_some_and(|max| k >= max)
                        || j + k >= n
                        || !p.atom.accepts(text[j + k])
                    {
                        break;
                    }
                    k += 1;
                }
            }
        }
        ok[0][0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(source: &str) -> TopicPattern {
        let full = if source.contains("://") {
            source.to_string()
        } else if source.matches('/').count() >= 2 {
            format!("persistent://{source}")
        } else {
            format!("persistent://public/default/{source}")
        };
        TopicPattern::parse(source, &full).unwrap()
    }

    #[test]
    fn the_whole_name_without_scheme_must_match() {
        let p = pattern("persistent://public/default/orders-.*");
        assert!(p.covers("persistent://public/default/orders-eu"));
        assert!(p.covers("persistent://public/default/orders-"));
        assert!(!p.covers("persistent://public/default/order"));
        assert!(!p.covers("persistent://public/other/orders-eu"));
        assert!(!p.covers("non-persistent://public/default/orders-eu"));
        // Without a scheme: the same.
        assert!(pattern("public/default/orders-.*").covers("persistent://public/default/orders-1"));
        // A short pattern cannot match the `public/default/` part: nothing.
        assert!(!pattern("orders-.*").covers("persistent://public/default/orders-1"));
        // A prefix is not enough (matches, not find).
        assert!(!pattern("persistent://public/default/orders")
            .covers("persistent://public/default/orders-1"));
    }

    #[test]
    fn quantifiers_dots_and_escapes() {
        let p = pattern("persistent://t/n/a.b\\.c+d?e*");
        assert!(p.covers("persistent://t/n/aXb.c"));
        assert!(p.covers("persistent://t/n/a-b.cccdeee"));
        assert!(!p.covers("persistent://t/n/a-bXc"));
        assert!(!p.covers("persistent://t/n/a-b."));
        assert!(!p.covers("persistent://t/n/a-b.cdde"));
        assert!(pattern("persistent://t/n/.*-.*-.*").covers("persistent://t/n/a-b-c"));
        assert!(!pattern("persistent://t/n/.*-.*-.*").covers("persistent://t/n/a-b"));
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for bad in [
            "persistent://t/n/(a|b)",
            "persistent://t/n/[ab]",
            "persistent://t/n/a{2}",
            "persistent://*a",
            "persistent://t/n/a**",
            "persistent://t/n/\\d",
            "persistent://t/n/a\\",
            "^persistent://t/n/a$",
        ] {
            assert!(
                TopicPattern::parse(bad, "persistent://t/n/x").is_err(),
                "{bad}"
            );
        }
    }
}
