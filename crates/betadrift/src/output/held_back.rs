//! The one wording of "how far the stack can go": `check`, `sync` and every
//! report format say "held back at U' by #k ↔ upstream X" with these words.

use std::io::Write;

use crate::model::stack::Stack;
use crate::rebase::forward::HeldBack;
use crate::support::escape::terminal_short;
use crate::support::ids::short_id;
use crate::support::words::count;

/// "held back" in words, untrusted text made terminal-safe.
#[derive(Debug)]
pub struct HeldBackView {
    /// `held back at 3f2a1b9c0d by #2 f8136e2b80 ↔ upstream 8d2f770d12`
    pub summary: String,
    /// `origin/production~2998: the stack takes 2 of 3,000 upstream commits, 2,998 are held back`
    pub taken: String,
    /// `#2 f8136e2b80 "subject" by Ana Costa for T359010`
    pub patch: String,
    /// `upstream 8d2f770d12 "subject" by Bo Li (T123)`
    pub upstream: String,
    /// `conflict in a.pp, b.yaml`
    pub paths: String,
}

/// The words for `held`, about `stack`.
pub fn view(held: &HeldBack, stack: &Stack) -> HeldBackView {
    let patch = stack.at(held.position);
    let patch_commit = patch.map_or_else(String::new, |p| short_id(p.commit.oid));
    let onto = if held.is_stuck() { format!("the merge base {}", short_id(held.onto)) } else { short_id(held.onto) };
    let c = &held.culprit;
    let culprit_tasks: Vec<String> = c.message.tasks.iter().map(ToString::to_string).collect();
    let paths: Vec<String> = held.paths.iter().map(|p| terminal_short(p, 200)).collect();
    HeldBackView {
        summary: format!("held back at {onto} by #{} {patch_commit} ↔ upstream {}", held.position, short_id(c.commit)),
        taken: format!(
            "{}~{}: the stack takes {} of {}, {} held back",
            terminal_short(stack.upstream.name.as_bytes(), 80),
            held.below_target,
            held.taken,
            count(held.behind, "upstream commit"),
            held.held_back()
        ),
        patch: match patch {
            Some(p) => {
                let tasks: Vec<String> = p.message.tasks.iter().map(ToString::to_string).collect();
                format!(
                    "#{} {patch_commit} \"{}\" by {}{}",
                    held.position,
                    terminal_short(&p.message.subject, 70),
                    terminal_short(&p.commit.author.name, 40),
                    if tasks.is_empty() { String::new() } else { format!(" for {}", tasks.join(" ")) }
                )
            }
            None => format!("#{}", held.position),
        },
        upstream: format!(
            "upstream {} \"{}\" by {}{}",
            short_id(c.commit),
            terminal_short(&c.message.subject, 70),
            terminal_short(&c.author.name, 40),
            if culprit_tasks.is_empty() { String::new() } else { format!(" ({})", culprit_tasks.join(", ")) }
        ),
        paths: if paths.is_empty() { "conflict".to_owned() } else { format!("conflict in {}", paths.join(", ")) },
    }
}

/// Writes the held-back paragraph of `check` and `sync`.
pub fn write_text(held: &HeldBack, stack: &Stack, out: &mut dyn Write) -> std::io::Result<()> {
    let v = view(held, stack);
    writeln!(out, "{}", v.summary)?;
    writeln!(out, "  {}", v.taken)?;
    writeln!(out, "  the first upstream commit a patch stops on: {}", v.upstream)?;
    writeln!(out, "  the patch: {}: {}", v.patch, v.paths)
}
