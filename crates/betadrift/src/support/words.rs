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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_runs() {
        assert_eq!(ranges(&[1, 2, 3, 4, 6, 8, 9]), "#1-#4, #6, #8-#9");
        assert_eq!(ranges(&[5]), "#5");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn counts_say_one_or_many() {
        assert_eq!(count(1, "patch"), "1 patch");
        assert_eq!(count(3, "patch"), "3 patches");
        assert_eq!(count(0, "commit"), "0 commits");
        assert_eq!(count(2, "remaining patch"), "2 remaining patches");
    }
}
