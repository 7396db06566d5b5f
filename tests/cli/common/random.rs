//! Seeded random scenarios for the differential suite.
//!
//! Each seed gives an upstream base, a local stack and upstream commits that
//! land later, made of the edits that trouble a rebase: line edits with few
//! distinct lines (so diffs have many candidate alignments), adjacent edits,
//! files added, deleted, renamed (with and without edits), whole directories
//! moved, mode changes, symlinks, binary files, missing final newlines, CRLF,
//! file/directory clashes, files replaced by directories and directories by
//! files, and upstream copies of local patches (exact, whitespace-only
//! variants, partial, older patchsets), also where upstream's copy of a file
//! has another mode than the local one (a mode-only difference that neither
//! side changes). Upstream renames whole directories as commits of their
//! own; both sides make empty commits. Local subjects carry what conflict
//! labels must keep byte for byte: CRLF lines, invalid UTF-8, and messages
//! in other encodings with an `encoding` header.

use std::collections::BTreeMap;

use betadrift::scenario::{CommitSpec, Scenario};

/// xorshift64*: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One path's content in a model tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text { lines: Vec<String>, final_newline: bool, exec: bool },
    Link(String),
    Binary(Vec<u8>),
}

type Model = BTreeMap<String, Node>;

const DIRS: &[&str] = &["", "a/", "a/b/", "c/", "modules/x/", "modules/y/", "hieradata/"];
const NAMES: &[&str] = &["init.pp", "common.yaml", "f.txt", "g.txt", "README", "site.pp", "params.pp"];
const VOCAB: &[&str] = &["}", "", "  ensure => present,", "class foo {", "# comment", "value: 1", "include bar", "  }"];

/// Generates the scenario for `seed`.
pub fn scenario(seed: u64) -> Scenario {
    scenario_with(seed, 6)
}

/// Generates the scenario for `seed`, with fewer than `later_max` upstream
/// commits after the base ([`scenario`] is `scenario_with(seed, 6)`).
pub fn scenario_with(seed: u64, later_max: usize) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut g = Gen { rng: &mut rng, seed, counter: 0 };
    let base = g.base_model();
    let mut local_models = vec![base.clone()];
    let mut local = Vec::new();
    for i in 0..1 + g.rng.below(6) {
        let parent = local_models.last().unwrap().clone();
        let (spec, child) = g.local_commit(i, &parent);
        local.push(spec);
        local_models.push(child);
    }
    let mut later = Vec::new();
    let mut up = base.clone();
    for i in 0..g.rng.below(later_max) {
        let (spec, child) = g.later_commit(i, &up, &local_models);
        if let Some(spec) = spec {
            later.push(spec);
            up = child;
        }
    }
    let mut upstream_spec = diff_spec("base".into(), &Model::new(), &base);
    upstream_spec.message = Some("base\n".into());
    Scenario {
        name: format!("random-{seed}"),
        description: format!("generated from seed {seed}"),
        branch: "production".into(),
        checkout: "puppet".into(),
        start: "2026-01-01T00:00:00Z".into(),
        step: "1h".into(),
        now: None,
        last_sync: None,
        fetched: None,
        committer: "gitpuppet <gitpuppet@puppetmaster.invalid>".into(),
        upstream: vec![upstream_spec],
        local,
        later,
        snapshot: Vec::new(),
        dirty: Default::default(),
    }
}

struct Gen<'r> {
    rng: &'r mut Rng,
    seed: u64,
    counter: usize,
}

impl Gen<'_> {
    fn unique_line(&mut self) -> String {
        self.counter += 1;
        format!("unique {} {}", self.seed, self.counter)
    }

    fn line(&mut self) -> String {
        if self.rng.chance(30) { self.unique_line() } else { (*self.rng.pick(VOCAB)).to_owned() }
    }

    fn text(&mut self, max: usize) -> Node {
        let n = self.rng.below(max + 1);
        let crlf = self.rng.chance(5);
        let lines: Vec<String> =
            (0..n).map(|_| if crlf { format!("{}\r", self.line()) } else { self.line() }).collect();
        let final_newline = lines.is_empty() || !self.rng.chance(10);
        Node::Text { lines, final_newline, exec: self.rng.chance(5) }
    }

    fn base_model(&mut self) -> Model {
        let mut m = Model::new();
        for _ in 0..3 + self.rng.below(8) {
            let path = self.new_path(&m);
            let node = if self.rng.chance(5) {
                Node::Link(format!("target-{}", self.rng.below(3)))
            } else if self.rng.chance(4) {
                Node::Binary(vec![0, self.rng.below(256) as u8, 1, 2])
            } else {
                let max = if self.rng.chance(10) { 90 } else { 25 };
                self.text(max)
            };
            m.insert(path, node);
        }
        m
    }

    /// A path that does not clash with files of `m` (no file/directory overlap).
    fn new_path(&mut self, m: &Model) -> String {
        for _ in 0..50 {
            let p = format!("{}{}", self.rng.pick(DIRS), self.rng.pick(NAMES));
            let clash = m.keys().any(|k| k == &p || k.starts_with(&format!("{p}/")) || p.starts_with(&format!("{k}/")));
            if !clash {
                return p;
            }
        }
        let unique = self.unique_line().replace(' ', "-");
        format!("extra/{unique}.txt")
    }

    fn local_commit(&mut self, i: usize, parent: &Model) -> (CommitSpec, Model) {
        let mut child = parent.clone();
        if self.rng.chance(6) {
            let mut spec = diff_spec(format!("l{i}"), parent, &child);
            self.local_message(&mut spec, &format!("local {i}: nothing"));
            spec.empty = true;
            return (spec, child);
        }
        for _ in 0..3 {
            for _ in 0..1 + self.rng.below(3) {
                self.mutate(&mut child);
            }
            if !changes_nothing(&diff_spec(String::new(), parent, &child)) {
                break;
            }
        }
        if changes_nothing(&diff_spec(String::new(), parent, &child)) {
            let path = self.new_path(&child);
            let line = self.unique_line();
            child.insert(path, Node::Text { lines: vec![line], final_newline: true, exec: false });
        }
        let mut spec = diff_spec(format!("l{i}"), parent, &child);
        self.local_message(&mut spec, &format!("local {i}: change"));
        (spec, child)
    }

    /// A local commit's message: `subject` as it is, or carrying what the
    /// sequencer's labels must keep (`path~<abbrev> (<subject>)` names a
    /// file moved aside): CRLF line ends, leading blank lines, invalid
    /// UTF-8, or bytes in another encoding named by an `encoding` header
    /// (which git re-encodes to UTF-8, or keeps when it cannot).
    fn local_message(&mut self, spec: &mut CommitSpec, subject: &str) {
        const ENCODED: &[(&str, &str)] = &[
            ("ISO-8859-1", "caf\\xe9 \\xbd"),
            ("latin1", "na\\xefve \\x85"),
            ("ISO-8859-15", "\\xa4uro"),
            ("windows-1252", "\\x80 \\x93quoted\\x94"),
            ("EUC-JP", "\\xa4\\xa2\\xa4\\xa4"),
            ("no-such-encoding", "raw \\xe9"),
            ("UTF-8", "bad \\xc3\\x28 utf-8"),
        ];
        let message = match self.rng.below(100) {
            0..=59 => format!("{subject}\n"),
            60..=69 => format!("{subject}\r\n\r\nbody\r\n"),
            70..=74 => format!("\n \t\n{subject}\nsecond line\n"),
            75..=81 => {
                spec.raw_escapes = true;
                format!("{subject} \\xff\\xfe\n")
            }
            _ => {
                let (encoding, text) = *self.rng.pick(ENCODED);
                spec.raw_escapes = true;
                spec.encoding = Some(encoding.to_owned());
                format!("{subject} {text}\n")
            }
        };
        spec.message = Some(message);
    }

    /// An upstream commit: its own edits, a copy of a local patch's change,
    /// a directory renamed, a file's mode flipped where a local patch
    /// changes it, or nothing at all.
    fn later_commit(&mut self, i: usize, up: &Model, locals: &[Model]) -> (Option<CommitSpec>, Model) {
        let mut child = up.clone();
        let roll = self.rng.below(100);
        if roll < 5 {
            let mut spec = diff_spec(format!("u{i}"), up, &child);
            spec.message = Some(format!("upstream {i}: nothing\n"));
            spec.empty = true;
            return (Some(spec), child);
        } else if roll < 15 {
            self.rename_dir(&mut child);
        } else if roll < 22 && locals.len() > 1 {
            self.flip_mode_of_local_path(locals, &mut child);
        } else if roll < 57 && locals.len() > 1 {
            let k = self.rng.below(locals.len() - 1);
            let variant = self.rng.below(4);
            self.transplant(&locals[k], &locals[k + 1], &mut child, variant);
        } else {
            for _ in 0..1 + self.rng.below(3) {
                self.mutate(&mut child);
            }
        }
        if changes_nothing(&diff_spec(String::new(), up, &child)) {
            return (None, up.clone());
        }
        let mut spec = diff_spec(format!("u{i}"), up, &child);
        spec.message = Some(format!("upstream {i}: change\n"));
        (Some(spec), child)
    }

    /// Flips the executable bit, in `target`, of a text file some local
    /// patch changes: a later copy of that patch upstream then differs from
    /// the local one by a mode that neither changes.
    fn flip_mode_of_local_path(&mut self, locals: &[Model], target: &mut Model) {
        let k = self.rng.below(locals.len() - 1);
        let (before, after) = (&locals[k], &locals[k + 1]);
        let touched: Vec<&String> = before.keys().filter(|p| after.get(*p) != before.get(*p)).collect();
        if touched.is_empty() {
            return;
        }
        let p = self.rng.pick(&touched);
        if let Some(Node::Text { exec, .. }) = target.get_mut(*p) {
            *exec = !*exec;
        }
    }

    /// Applies the change `before -> after` of a local patch to `target` where
    /// it applies exactly (a text file's mode aside: a mode the patch leaves
    /// alone stays `target`'s). Variants: 0 exact, 1 whitespace-only twin,
    /// 2 partial (half the paths), 3 an older/newer patchset (an extra line).
    fn transplant(&mut self, before: &Model, after: &Model, target: &mut Model, variant: usize) {
        let paths: Vec<&String> = before.keys().chain(after.keys()).collect();
        let mut changed: Vec<&String> = paths.into_iter().filter(|p| before.get(*p) != after.get(*p)).collect();
        changed.sort();
        changed.dedup();
        for (n, p) in changed.into_iter().enumerate() {
            if variant == 2 && n % 2 == 1 {
                continue;
            }
            let target_exec = match (target.get(p), before.get(p)) {
                (Some(Node::Text { exec, .. }), Some(b)) if same_but_mode(target.get(p), Some(b)) => Some(*exec),
                (t, b) if t == b => None,
                _ => continue,
            };
            match after.get(p) {
                None => {
                    target.remove(p);
                }
                Some(node) => {
                    let mut node = node.clone();
                    if let (Some(kept), Node::Text { exec, .. }, Some(Node::Text { exec: old, .. })) =
                        (target_exec, &mut node, before.get(p))
                        && *exec == *old
                    {
                        *exec = kept;
                    }
                    if let Node::Text { lines, .. } = &mut node {
                        if variant == 1 && !lines.is_empty() {
                            let i = self.rng.below(lines.len());
                            lines[i] = format!("{} ", lines[i]);
                        }
                        if variant == 3 {
                            lines.push(self.unique_line());
                        }
                    }
                    let clash =
                        target.keys().any(|k| k.starts_with(&format!("{p}/")) || p.starts_with(&format!("{k}/")));
                    if !clash {
                        target.insert(p.clone(), node);
                    }
                }
            }
        }
    }

    fn mutate(&mut self, m: &mut Model) {
        self.mutate_once(m);
        // An empty file renders the same with or without a final newline.
        for node in m.values_mut() {
            if let Node::Text { lines, final_newline, .. } = node
                && lines.is_empty()
            {
                *final_newline = true;
            }
        }
    }

    fn mutate_once(&mut self, m: &mut Model) {
        let paths: Vec<String> = m.keys().cloned().collect();
        let text_paths: Vec<String> = paths.iter().filter(|p| matches!(m[*p], Node::Text { .. })).cloned().collect();
        match self.rng.below(100) {
            0..=44 if !text_paths.is_empty() => {
                let p = self.rng.pick(&text_paths).clone();
                self.edit_text(m.get_mut(&p).unwrap());
            }
            45..=54 => {
                let p = self.new_path(m);
                let node = self.text(20);
                m.insert(p, node);
            }
            55..=62 if !paths.is_empty() => {
                m.remove(self.rng.pick(&paths));
            }
            63..=75 if !paths.is_empty() => self.rename_file(m, &paths),
            76..=82 => self.rename_dir(m),
            83..=88 if !text_paths.is_empty() => {
                if let Node::Text { exec, .. } = m.get_mut(self.rng.pick(&text_paths)).unwrap() {
                    *exec = !*exec;
                }
            }
            89..=93 if !paths.is_empty() => {
                let p = self.rng.pick(&paths).clone();
                m.insert(p, Node::Link(format!("target-{}", self.rng.below(4))));
            }
            94..=96 if !paths.is_empty() => {
                let p = self.rng.pick(&paths).clone();
                m.insert(p, Node::Binary(vec![0, self.rng.below(256) as u8, self.rng.below(4) as u8]));
            }
            98 if !paths.is_empty() => self.file_to_directory(m, &paths),
            99 => self.directory_to_file(m),
            _ => {
                // A file where another side may have a directory, or vice versa.
                let dir = self.rng.pick(&["a", "c", "conf", "modules/x"]).to_string();
                let clash = m.keys().any(|k| k == &dir || k.starts_with(&format!("{dir}/")));
                if !clash {
                    let node = self.text(4);
                    m.insert(dir, node);
                }
            }
        }
    }

    /// Replaces a file by a directory of the same name holding a file.
    fn file_to_directory(&mut self, m: &mut Model, paths: &[String]) {
        let p = self.rng.pick(paths).clone();
        m.remove(&p);
        let node = self.text(4);
        m.insert(format!("{p}/{}", self.rng.pick(NAMES)), node);
    }

    /// Replaces a directory (everything under it) by a file of its name.
    fn directory_to_file(&mut self, m: &mut Model) {
        let dirs: Vec<String> = m.keys().filter_map(|k| k.rsplit_once('/').map(|(d, _)| d.to_owned())).collect();
        if dirs.is_empty() {
            return;
        }
        let dir = self.rng.pick(&dirs).clone();
        m.retain(|k, _| !k.starts_with(&format!("{dir}/")));
        let clash = m.keys().any(|k| dir.starts_with(&format!("{k}/")));
        if !clash {
            let node = self.text(4);
            m.insert(dir, node);
        }
    }

    fn edit_text(&mut self, node: &mut Node) {
        let Node::Text { lines, final_newline, .. } = node else { return };
        for _ in 0..1 + self.rng.below(3) {
            let len = lines.len();
            match self.rng.below(10) {
                0..=3 if len > 0 => {
                    let i = self.rng.below(len);
                    lines[i] = self.line();
                }
                4..=6 => {
                    let i = self.rng.below(len + 1);
                    let l = self.line();
                    lines.insert(i, l);
                }
                7..=8 if len > 0 => {
                    let i = self.rng.below(len);
                    let n = 1 + self.rng.below(3.min(len - i));
                    lines.drain(i..i + n);
                }
                _ => *final_newline = !*final_newline,
            }
        }
    }

    fn rename_file(&mut self, m: &mut Model, paths: &[String]) {
        let from = self.rng.pick(paths).clone();
        let node = m.remove(&from).unwrap();
        let to = self.new_path(m);
        let mut node = node;
        if self.rng.chance(40) {
            self.edit_text(&mut node);
        }
        m.insert(to, node);
    }

    fn rename_dir(&mut self, m: &mut Model) {
        let dirs: Vec<&str> =
            DIRS.iter().copied().filter(|d| !d.is_empty()).filter(|d| m.keys().any(|k| k.starts_with(d))).collect();
        if dirs.is_empty() {
            return;
        }
        let from = self.rng.pick(&dirs).to_string();
        let to = format!("{}{}/", self.rng.pick(&["moved", "a/moved", "new", "modules/z"]), self.rng.below(2));
        let moving: Vec<String> = m.keys().filter(|k| k.starts_with(&from)).cloned().collect();
        for k in moving {
            let target = format!("{to}{}", &k[from.len()..]);
            let clash = m
                .keys()
                .any(|x| x == &target || x.starts_with(&format!("{target}/")) || target.starts_with(&format!("{x}/")));
            if !clash {
                let node = m.remove(&k).unwrap();
                m.insert(target, node);
            }
        }
    }
}

/// Whether two nodes are the same text but for the executable bit.
fn same_but_mode(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (
            Some(Node::Text { lines: l1, final_newline: f1, exec: e1 }),
            Some(Node::Text { lines: l2, final_newline: f2, exec: e2 }),
        ) => l1 == l2 && f1 == f2 && e1 != e2,
        _ => false,
    }
}

/// What git sees of a node: its bytes and mode.
fn look(node: &Node) -> (String, u32) {
    match node {
        Node::Text { exec, .. } => (render(node), if *exec { 0o100755 } else { 0o100644 }),
        Node::Link(t) => (t.clone(), 0o120000),
        Node::Binary(b) => (format!("{b:?}"), 0o100644),
    }
}

fn changes_nothing(spec: &CommitSpec) -> bool {
    spec.files.is_empty()
        && spec.delete.is_empty()
        && spec.exec.is_empty()
        && spec.noexec.is_empty()
        && spec.symlinks.is_empty()
        && spec.binary.is_empty()
}

fn render(node: &Node) -> String {
    match node {
        Node::Text { lines, final_newline, .. } => {
            let mut s = lines.join("\n");
            if *final_newline && !lines.is_empty() {
                s.push('\n');
            }
            s
        }
        Node::Link(t) => t.clone(),
        Node::Binary(_) => unreachable!(),
    }
}

/// The commit spec that turns `parent` into `child`.
fn diff_spec(id: String, parent: &Model, child: &Model) -> CommitSpec {
    let mut spec = CommitSpec { id, ..CommitSpec::default() };
    for p in parent.keys().filter(|p| !child.contains_key(*p)) {
        spec.delete.push(p.clone());
    }
    for (p, node) in child {
        let old = parent.get(p);
        if old.map(look) == Some(look(node)) {
            continue;
        }
        match node {
            Node::Text { exec, .. } => {
                spec.files.insert(p.clone(), render(node));
                let was_exec = matches!(old, Some(Node::Text { exec: true, .. }));
                let was_other = matches!(old, Some(Node::Link(_) | Node::Binary(_)));
                if *exec && !was_exec {
                    spec.exec.push(p.clone());
                } else if !*exec && (was_exec || was_other) {
                    spec.noexec.push(p.clone());
                }
            }
            Node::Link(t) => {
                spec.symlinks.insert(p.clone(), t.clone());
            }
            Node::Binary(b) => {
                spec.binary.insert(p.clone(), b.iter().map(|x| format!("{x:02x}")).collect());
            }
        }
    }
    spec
}

/// Keeps a failing case where it can be turned into a regression fixture.
pub fn save_failure(scenario: &Scenario) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("betadrift-failures");
    std::fs::create_dir_all(&dir).expect("failure dir");
    let path = dir.join(format!("{}.toml", scenario.name));
    std::fs::write(&path, scenario.to_toml()).expect("writing failure");
    path
}
