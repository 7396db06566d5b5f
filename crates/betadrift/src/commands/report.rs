//! `betadrift report`: status, predicted stops, stale patches and suggested
//! actions of every configured repository, in one or several formats at once,
//! for people (text, Markdown, HTML) and for monitoring (JSON, Prometheus).
//! Records first-seen times in the ledger; changes nothing in the repositories.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome, RepoArgs};
use crate::error::{Error, Result};
use crate::output::report::{Format, render};
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

    /// Ask Gerrit for each change's live state (cached; default: [gerrit] online)
    #[arg(long)]
    pub online: bool,
}

/// What `report` was asked to write, and where.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `(format, file)`; `None` is standard output.
    pub targets: Vec<(Format, Option<PathBuf>)>,
}

impl Outputs {
    /// Pairs `--output` files with a format: `--format`, else the file's extension.
    pub fn new(format: Option<Format>, files: &[PathBuf]) -> Result<Outputs> {
        if files.is_empty() {
            return Ok(Outputs { targets: vec![(format.unwrap_or(Format::Text), None)] });
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
        Ok(Outputs { targets })
    }

    /// Renders and writes every output: files atomically, stdout as is.
    pub fn write(&self, report: &Report, out: &mut dyn Write) -> Result<()> {
        let _t = crate::support::timing::phase("render and write");
        for (format, file) in &self.targets {
            let bytes = render(report, *format);
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
    online.gerrit.online |= args.online;
    let (config, clock) = (&online, ctx.clock()?);
    let outputs = Outputs::new(args.format, &args.output)?;
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
