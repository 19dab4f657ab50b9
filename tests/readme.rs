//! The README and the docs cannot drift from the code: the `tail --help`
//! block is the real help text, the set-up commands are exactly the two the
//! project promises, every example and every linked document exists, and the
//! troubleshooting guide covers every `Error` variant.

use std::path::Path;

use clap::CommandFactory;

#[path = "../examples/tail/main.rs"]
#[allow(dead_code)]
mod tail;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The fenced block right after the line `heading`, without its fences.
fn block_after(text: &str, heading: &str) -> String {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &text[start..];
    let open = rest.find("\n```").expect("a fenced block") + 1;
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("\n```").expect("a closing fence") + 1].to_string()
}

/// Trailing spaces dropped (clap indents empty lines; editors strip them).
fn normalise(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// `[env: NAME=value]` → `[env: NAME=]`: the help shows the value of a
/// variable set in the environment of whoever renders it.
fn without_env_values(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("[env: ") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let end = tail.find(']').expect("a closing bracket");
        let entry = &tail[..end];
        match entry.find('=') {
            Some(eq) => out.push_str(&entry[..=eq]),
            None => out.push_str(entry),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn readme_shows_the_real_tail_help() {
    let mut command = tail::Args::command();
    let help = command.render_long_help().to_string();
    let real = normalise(&without_env_values(&help));
    let readme = normalise(&block_after(&read("README.md"), "## `tail --help`"));
    if readme != real {
        panic!("README.md's `tail --help` block is stale; replace it with:\n\n{real}\n");
    }
}

#[test]
fn readme_has_exactly_the_two_setup_commands() {
    let block = block_after(&read("README.md"), "## Set up on a fresh machine");
    let commands: Vec<&str> = block
        .lines()
        .map(|line| line.split(" #").next().unwrap_or("").trim())
        .filter(|command| !command.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --example tail -- --demo", "scripts/test.sh"]
    );
}

#[test]
fn readme_lists_every_example_and_links_only_existing_files() {
    let readme = read("README.md");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<String> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            format!("[`{name}`](examples/")
        })
        .collect();
    examples.sort();
    for example in &examples {
        assert!(
            readme.contains(example.as_str()),
            "README.md does not list {example}"
        );
    }
    // Every relative link target exists.
    for (at, _) in readme.match_indices("](") {
        let target = &readme[at + 2..];
        let target = &target[..target.find(')').unwrap()];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(
            root.join(target).exists(),
            "README.md links to missing {target}"
        );
    }
}

#[test]
fn troubleshooting_covers_every_error_variant() {
    let source = read("src/error.rs");
    let body = &source[source.find("pub enum Error {").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    // Variants are the lines indented by four spaces that start with a capital.
    let variants: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap()
        })
        .collect();
    assert!(variants.len() > 25, "parsed {variants:?}");
    let guide = read("docs/troubleshooting.md");
    let missing: Vec<&&str> = variants
        .iter()
        .filter(|v| !guide.contains(&format!("`Error::{v}`")) && !guide.contains(&format!("`{v}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md misses {missing:?}"
    );
}
