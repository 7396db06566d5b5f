// Follows git's merge-ll.c (GPL-2.0-only); see NOTICE.
//! Which low-level merge driver git runs on a file, and with what conflict
//! marker size (`ll_merge`, `find_ll_merge_driver`, `read_merge_config`).
//!
//! The `merge` attribute chooses: set is the built-in `text` driver, unset
//! (`-merge`, or the `binary` macro) is `binary`, unspecified is
//! `merge.default` (else `text`), and a name is a configured driver
//! (`merge.<name>.*` in git config, searched first) or a built-in one
//! (`binary`, `text`, `union`), else `text`. The `conflict-marker-size`
//! attribute, read as C's `atoi` reads it, replaces the 7 of the markers
//! when it is positive.
//!
//! A configured driver is a command git runs; betadrift does not run it,
//! so a file merged by one is a stop in the prediction. A driver that has
//! `merge.<name>.*` settings but no `merge.<name>.driver` makes git die
//! ("custom merge driver … lacks command line").

use super::Merge;
use crate::attr::{self, Value};
use crate::error::Result;
use crate::objects::ObjectRead;

/// git's default conflict marker length.
pub(super) const DEFAULT_MARKER_SIZE: usize = 7;

/// A `merge.<name>.*` section of git's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDriver {
    /// The driver's name, as the `merge` attribute names it.
    pub name: Vec<u8>,
    /// `merge.<name>.driver`, the command line, if set.
    pub command: Option<Vec<u8>>,
}

/// What a merge reads besides the trees: the repository's attributes
/// files and git's merge-driver configuration.
#[derive(Debug, Clone)]
pub struct MergeSetup {
    /// `info/attributes`, the global and the system attributes files.
    pub attributes: attr::Base,
    /// `merge.default`, if set.
    pub default_driver: Option<Vec<u8>>,
    /// The configured drivers, in configuration order.
    pub drivers: Vec<CustomDriver>,
}

impl Default for MergeSetup {
    /// No attributes files and no merge configuration.
    fn default() -> Self {
        MergeSetup { attributes: attr::Base::new(&attr::Sources::default()), default_driver: None, drivers: Vec::new() }
    }
}

/// The driver git's `ll_merge` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Driver {
    Text,
    Binary,
    Union,
    /// A configured driver with a command: betadrift cannot run it.
    Custom,
    /// A configured driver without a command: git dies.
    NoCommand,
}

/// The driver and marker size for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LowLevel {
    pub driver: Driver,
    pub marker_size: usize,
}

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// The driver and marker size git uses for `path`, from the attributes
    /// of our side's tree (the working tree of a rebase: HEAD).
    pub(super) fn low_level(&self, path: &[u8]) -> Result<LowLevel> {
        let values = self.attributes.check(self.objects, path, &[b"merge", b"conflict-marker-size"])?;
        Ok(LowLevel { driver: find_driver(self.setup, &values[0]), marker_size: marker_size(&values[1]) })
    }
}

/// `find_ll_merge_driver`.
fn find_driver(setup: &MergeSetup, merge: &Value) -> Driver {
    let name: &[u8] = match merge {
        Value::Set => return Driver::Text,
        Value::Unset => return Driver::Binary,
        Value::Unspecified => match &setup.default_driver {
            Some(name) => name,
            None => return Driver::Text,
        },
        Value::String(name) => name,
    };
    if let Some(custom) = setup.drivers.iter().find(|d| d.name == name) {
        return if custom.command.is_some() { Driver::Custom } else { Driver::NoCommand };
    }
    match name {
        b"binary" => Driver::Binary,
        b"union" => Driver::Union,
        _ => Driver::Text,
    }
}

/// The marker size `conflict-marker-size` gives: C's `atoi` of a value
/// (leading spaces, a sign, digits; `strtol` saturating, then cut to an
/// `int`), git's 7 when that is not positive.
fn marker_size(value: &Value) -> usize {
    let Value::String(text) = value else { return DEFAULT_MARKER_SIZE };
    let text = &text[text.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | 11 | 12 | b'\r')).count()..];
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        let digit = i64::from(d - b'0');
        n = if negative {
            n.saturating_mul(10).saturating_sub(digit)
        } else {
            n.saturating_mul(10).saturating_add(digit)
        };
    }
    // Truncation to C's int is what git's atoi does.
    #[allow(clippy::cast_possible_truncation)]
    let size = n as i32;
    usize::try_from(size).ok().filter(|&s| s > 0).unwrap_or(DEFAULT_MARKER_SIZE)
}

#[cfg(test)]
mod tests {
    use super::{CustomDriver, Driver, MergeSetup, Value, find_driver, marker_size};

    #[test]
    fn drivers_are_found_as_git_finds_them() {
        let mut setup = MergeSetup::default();
        let s = |v: &str| Value::String(v.as_bytes().to_vec());
        assert_eq!(find_driver(&setup, &Value::Set), Driver::Text);
        assert_eq!(find_driver(&setup, &Value::Unset), Driver::Binary);
        assert_eq!(find_driver(&setup, &Value::Unspecified), Driver::Text);
        assert_eq!(find_driver(&setup, &s("union")), Driver::Union);
        assert_eq!(find_driver(&setup, &s("nope")), Driver::Text);
        setup.default_driver = Some(b"binary".to_vec());
        assert_eq!(find_driver(&setup, &Value::Unspecified), Driver::Binary);
        setup.drivers.push(CustomDriver { name: b"union".to_vec(), command: Some(b"cat".to_vec()) });
        setup.drivers.push(CustomDriver { name: b"half".to_vec(), command: None });
        assert_eq!(find_driver(&setup, &s("union")), Driver::Custom);
        assert_eq!(find_driver(&setup, &s("half")), Driver::NoCommand);
    }

    #[test]
    fn marker_sizes_are_read_as_atoi_reads_them() {
        let s = |v: &str| marker_size(&Value::String(v.as_bytes().to_vec()));
        assert_eq!((s("12"), s(" 9x"), s("+3"), s("0"), s("-4"), s("x")), (12, 9, 3, 7, 7, 7));
        assert_eq!((s("4294967297"), s("99999999999999999999")), (1, 7));
        assert_eq!(marker_size(&Value::Set), 7);
    }
}
