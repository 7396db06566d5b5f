//! Small three-commit repositories for end-to-end checks with
//! `git merge-tree --write-tree`, where a rename decision shows in the
//! merged tree.

use std::io::Write;

use super::Git;

/// Files of one commit: (path, content).
pub type Files<'f> = &'f [(&'f str, &'f str)];

/// A repository with `base`, and branches `a` and `b` forked from it.
pub struct MergeRepo<'g> {
    git: &'g Git,
    dir: tempfile::TempDir,
}

/// What `git merge-tree` reported.
pub struct MergeResult {
    pub clean: bool,
    pub tree: String,
}

impl<'g> MergeRepo<'g> {
    pub fn new(git: &'g Git, base: Files<'_>, a: Files<'_>, b: Files<'_>) -> Self {
        let dir = git.bare_repo();
        let mut stream = Vec::new();
        for (mark, branch, files) in [(1, "base", base), (2, "a", a), (3, "b", b)] {
            writeln!(stream, "commit refs/heads/{branch}\nmark :{mark}").unwrap();
            writeln!(stream, "committer A <a@example.com> 1700000000 +0000").unwrap();
            writeln!(stream, "data {}\n{branch}", branch.len()).unwrap();
            if mark > 1 {
                writeln!(stream, "from :1\ndeleteall").unwrap();
            }
            for (path, content) in files {
                writeln!(stream, "M 100644 inline {path}\ndata {}", content.len()).unwrap();
                stream.extend_from_slice(content.as_bytes());
                stream.push(b'\n');
            }
            stream.push(b'\n');
        }
        git.run(dir.path(), &["fast-import", "--quiet"], &stream);
        Self { git, dir }
    }

    /// Merges `a` and `b` the way a rebase's merge-ort would.
    pub fn merge(&self) -> MergeResult {
        let output = self.git.run_unchecked(self.dir.path(), &["merge-tree", "--write-tree", "a", "b"], b"");
        let code = output.status.code();
        assert!(matches!(code, Some(0 | 1)), "merge-tree failed: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        MergeResult { clean: code == Some(0), tree: stdout.lines().next().unwrap_or_default().to_string() }
    }

    /// The content at `path` in `tree`, if any.
    pub fn read(&self, tree: &str, path: &str) -> Option<String> {
        let spec = format!("{tree}:{path}");
        let output = self.git.run_unchecked(self.dir.path(), &["cat-file", "blob", &spec], b"");
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
