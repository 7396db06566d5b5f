//! What git's content merges read from outside the trees: the attributes
//! files (`$GIT_DIR/info/attributes`, `core.attributesFile`, the system
//! file) and the merge drivers of git's configuration (`merge.default`,
//! `merge.<name>.*`), as the engine's [`MergeSetup`].
//!
//! The in-tree `.gitattributes` files are the engine's to read: during a
//! rebase git reads them from the working tree, which holds HEAD, the tree
//! the engine merges as "ours". Read once per handle; a file that cannot
//! be read counts as absent, as git only warns about it.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use betadrift_engine::attr::{self, Sources};
use betadrift_engine::merge::{CustomDriver, MergeSetup};

use crate::git::repo::Repo;

/// The system attributes file of Debian's git (`$(prefix)/etc/gitattributes`).
const SYSTEM_FILE: &str = "/etc/gitattributes";

impl Repo {
    /// The attributes files and merge drivers git would use here.
    pub fn merge_setup(&self) -> Rc<MergeSetup> {
        Rc::clone(self.merge_setup.get_or_init(|| Rc::new(read_setup(self))))
    }
}

fn read_setup(repo: &Repo) -> MergeSetup {
    let config = repo.git().config().ok();
    let global = config.as_ref().and_then(|c| c.get_path("core.attributesFile").ok()).or_else(default_global_file);
    let sources = Sources {
        info: read_file(&repo.git().commondir().join("info/attributes")),
        global: global.map(|path| read_file(&path)).unwrap_or_default(),
        system: if env_bool("GIT_ATTR_NOSYSTEM") { Vec::new() } else { read_file(Path::new(SYSTEM_FILE)) },
    };
    let mut setup = MergeSetup { attributes: attr::Base::new(&sources), ..MergeSetup::default() };
    if let Some(config) = config {
        read_drivers(&config, &mut setup);
    }
    setup
}

/// `merge.default` and the `merge.<name>.*` sections, as `read_merge_config`
/// reads them: any key of a section makes a driver, `driver` its command.
fn read_drivers(config: &git2::Config, setup: &mut MergeSetup) {
    let Ok(mut entries) = config.entries(Some("^merge\\.")) else { return };
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.name_bytes();
        let value = entry.value_bytes().to_vec();
        if name.eq_ignore_ascii_case(b"merge.default") {
            setup.default_driver = Some(value);
            continue;
        }
        let Some(rest) = name.strip_prefix(b"merge.") else { continue };
        let Some(dot) = rest.iter().rposition(|&b| b == b'.') else { continue };
        let (driver, key) = (&rest[..dot], &rest[dot + 1..]);
        let index = match setup.drivers.iter().position(|d| d.name == driver) {
            Some(index) => index,
            None => {
                setup.drivers.push(CustomDriver { name: driver.to_vec(), command: None });
                setup.drivers.len() - 1
            }
        };
        if key.eq_ignore_ascii_case(b"driver") {
            setup.drivers[index].command = Some(value);
        }
    }
}

/// `$XDG_CONFIG_HOME/git/attributes`, else `$HOME/.config/git/attributes`.
fn default_global_file() -> Option<PathBuf> {
    match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(xdg) => Some(PathBuf::from(xdg).join("git/attributes")),
        None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/git/attributes")),
    }
}

/// git's boolean environment variables: true, yes, on or a non-zero number.
fn env_bool(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        let v = v.to_ascii_lowercase();
        matches!(v.as_str(), "true" | "yes" | "on") || v.parse::<i64>().is_ok_and(|n| n != 0)
    })
}

/// A regular file's bytes, up to git's size limit; anything else (absent,
/// unreadable, a FIFO, too large) is no file.
fn read_file(path: &Path) -> Vec<u8> {
    let Ok(file) =
        std::fs::OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path)
    else {
        return Vec::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Vec::new();
    }
    let mut data = Vec::new();
    let limit = attr::MAX_FILE_SIZE as u64;
    match file.take(limit).read_to_end(&mut data) {
        Ok(n) if (n as u64) < limit => data,
        _ => Vec::new(),
    }
}
