//! `betadrift report`: status, predicted stops, stale patches and suggested
//! actions of every configured repository, in one or several formats at once,
//! for people (text, Markdown, HTML) and for monitoring (JSON, Prometheus).
//! Records first-seen times in the ledger; changes nothing in the repositories.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome, RepoArgs};
use crate::error::{Error, Result};
use crate::model::message::Task;
use crate::output::report::{Format, render, render_owners};
use crate::overview::owners::OwnerFilter;
use crate::overview::report::{FailOn, LedgerMode, Report, build, sources};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Output format [default: from the --output file's extension, else text]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Write to this file (atomically) instead of standard output; may repeat,
    /// each file's extension (.txt .md .json .html .prom) naming its format
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Exit 1 when this holds in any repository; may repeat or take a comma list
    #[arg(long, value_enum, value_delimiter = ',', value_name = "WHAT")]
    pub fail_on: Vec<FailOn>,

    /// Print only what needs this patch author (name or email, after .mailmap),
    /// as text or Markdown to paste into their task
    #[arg(long, value_name = "NAME|EMAIL", conflicts_with = "task")]
    pub owner: Option<String>,

    /// Print only what needs the people of this task (T123456), as text or Markdown
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,

    /// Ask Gerrit for each change's live state and Phabricator for each
    /// task's (cached; default: [gerrit] online, [phabricator] online)
    #[arg(long)]
    pub online: bool,
}

impl Args {
    /// The owners' sections asked for with `--owner` or `--task`.
    fn filter(&self) -> Result<Option<OwnerFilter>> {
        if let Some(who) = &self.owner {
            return Ok(Some(OwnerFilter::Person(who.clone())));
        }
        let Some(task) = &self.task else { return Ok(None) };
        let number = task.strip_prefix(['T', 't']).and_then(|n| n.parse::<u64>().ok());
        match number {
            Some(n) => Ok(Some(OwnerFilter::Task(Task(n)))),
            None => Err(Error::Usage(format!("--task {task}: not a Phabricator task; write it as T123456"))),
        }
    }
}

/// What `report` was asked to write, and where.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `(format, file)`; `None` is standard output.
    pub targets: Vec<(Format, Option<PathBuf>)>,
    /// Only these owners' sections (`--owner`, `--task`).
    pub owners: Option<OwnerFilter>,
}

impl Outputs {
    /// Pairs `--output` files with a format: `--format`, else the file's extension.
    pub fn new(format: Option<Format>, files: &[PathBuf]) -> Result<Outputs> {
        if files.is_empty() {
            return Ok(Outputs { targets: vec![(format.unwrap_or(Format::Text), None)], owners: None });
        }
        if format.is_some() && files.len() > 1 {
            return Err(Error::Usage(
                "--format applies to one --output; with several, each file's extension (.txt .md .json .html .prom) \
                 names its format"
                    .into(),
            ));
        }
        let targets = files
            .iter()
            .map(|f| {
                let fmt = format.or_else(|| Format::from_path(f)).ok_or_else(|| {
                    Error::Usage(format!(
                        "cannot tell the format of {} from its extension; pass --format or use .txt .md .json .html \
                         .prom",
                        f.display()
                    ))
                })?;
                Ok((fmt, Some(f.clone())))
            })
            .collect::<Result<_>>()?;
        Ok(Outputs { targets, owners: None })
    }

    /// Restricts the outputs to owners' sections; only text and Markdown have them.
    pub fn only_owners(self, filter: Option<OwnerFilter>) -> Result<Outputs> {
        let other = self.targets.iter().find(|(f, _)| !matches!(f, Format::Text | Format::Markdown));
        if let (Some(_), Some((format, _))) = (&filter, other) {
            let name = format!("{format:?}").to_lowercase();
            return Err(Error::Usage(format!(
                "--owner and --task print text or Markdown, not {name}; use --format text or --format markdown"
            )));
        }
        Ok(Outputs { owners: filter, ..self })
    }

    /// Renders and writes every output: files atomically, stdout as is.
    pub fn write(&self, report: &Report, out: &mut dyn Write) -> Result<()> {
        let _t = crate::support::timing::phase("render and write");
        let mut rendered = Vec::new();
        for (format, file) in &self.targets {
            let bytes = match &self.owners {
                None => render(report, *format),
                Some(filter) => render_owners(report, filter, *format).unwrap_or_default(),
            };
            rendered.push((bytes, file));
        }
        if let Some(filter) = &self.owners
            && rendered.iter().all(|(bytes, _)| bytes.is_empty())
        {
            return Err(Error::Usage(format!("{}: nothing in the report needs them", filter.describe())));
        }
        for (bytes, file) in rendered {
            match file {
                Some(path) => crate::support::files::replace(path, &bytes)?,
                None => out.write_all(&bytes).map_err(Error::stdout)?,
            }
        }
        Ok(())
    }
}

/// Runs `betadrift report`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let mut online = ctx.config.clone();
    let asked = crate::overview::status::Online::of(&ctx.config, args.online);
    (online.gerrit.online, online.phabricator.online) = (asked.gerrit, asked.phabricator);
    let (config, clock) = (&online, ctx.clock()?);
    let outputs = Outputs::new(args.format, &args.output)?.only_owners(args.filter()?)?;
    let sources = sources(args.repo.repo.as_deref(), &args.repo.upstream_args(), config);
    let report = build(&sources, config, clock, LedgerMode::Record);
    outputs.write(&report, out)?;
    out.flush().map_err(Error::stdout)?;
    let failures = report.failures();
    if !failures.is_empty() {
        return Err(Error::ReportIncomplete { problems: failures.join("; ") });
    }
    let wanted: BTreeSet<FailOn> = args.fail_on.iter().copied().collect();
    if report.findings().intersection(&wanted).next().is_some() { Ok(Outcome::Findings) } else { Ok(Outcome::Clean) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions_or_the_flag() {
        let files = [PathBuf::from("a.prom"), PathBuf::from("b.html"), PathBuf::from("c.md")];
        let outputs = Outputs::new(None, &files).unwrap();
        let formats: Vec<Format> = outputs.targets.iter().map(|t| t.0).collect();
        assert_eq!(formats, [Format::Prometheus, Format::Html, Format::Markdown]);
        assert_eq!(Outputs::new(None, &[]).unwrap().targets, [(Format::Text, None)]);
        let one = Outputs::new(Some(Format::Json), &[PathBuf::from("x.txt")]).unwrap();
        assert_eq!(one.targets, [(Format::Json, Some(PathBuf::from("x.txt")))]);
        assert!(Outputs::new(None, &[PathBuf::from("noext")]).is_err());
        assert!(Outputs::new(Some(Format::Html), &files).is_err());
    }
}
