//! `betadrift completions SHELL`: a script each shell accepts, printed even
//! when the configuration is broken (it reads none).

use crate::common::Sandbox;

#[test]
fn completion_scripts_load_in_bash_and_name_every_command() {
    let sandbox = Sandbox::new();
    let broken = sandbox.path().join("broken.toml");
    std::fs::write(&broken, "this is [not toml").unwrap();
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .env("BETADRIFT_CONFIG", &broken)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).unwrap();
    for command in ["status", "check", "report", "sync", "drop", "prune", "undo", "resolve", "consent", "completions"] {
        assert!(script.contains(command), "{command} missing");
    }
    // bash loads it and registers the completion function.
    let file = sandbox.path().join("betadrift.bash");
    std::fs::write(&file, &script).unwrap();
    let check = sandbox
        .command("bash")
        .args(["--norc", "-c", &format!("source {} && complete -p betadrift", file.display())])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("_betadrift"));
    for shell in ["zsh", "fish"] {
        let run = sandbox.betadrift(sandbox.path(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("betadrift"), "{shell}");
    }
}
