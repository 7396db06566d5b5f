//! Counted nouns and runs of patch positions, as every text output words them.

/// `3 patches`, `1 patch`.
pub fn count(n: usize, word: &str) -> String {
    match (n, word.ends_with("ch")) {
        (1, _) => format!("1 {word}"),
        (_, true) => format!("{n} {word}es"),
        (_, false) => format!("{n} {word}s"),
    }
}

/// Positions as runs: `#1-#4, #6, #8-#9`.
pub fn ranges(positions: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &p in positions {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == p => *end = p,
            _ => runs.push((p, p)),
        }
    }
    let runs: Vec<String> =
        runs.iter().map(|&(a, b)| if a == b { format!("#{a}") } else { format!("#{a}-#{b}") }).collect();
    runs.join(", ")
}
