//! Time as betadrift sees it: a clock that tests and reports can fix, and the
//! short durations people write in config files and on the command line.

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};

/// Environment variable that fixes "now" (RFC 3339), like `--now`.
pub const NOW_ENV: &str = "BETADRIFT_NOW";

/// The instant commands treat as now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: Timestamp,
}

impl Clock {
    /// `--now` if given, else `$BETADRIFT_NOW`, else the system clock.
    pub fn from_args(now: Option<&str>) -> Result<Clock> {
        Ok(Clock::given(now)?.unwrap_or(Clock { now: Timestamp::now() }))
    }

    /// The time `--now` or `$BETADRIFT_NOW` fixes, if either does.
    pub fn given(now: Option<&str>) -> Result<Option<Clock>> {
        let from_env = std::env::var(NOW_ENV).ok().filter(|s| !s.is_empty());
        match now.map(str::to_owned).or(from_env) {
            Some(text) => {
                let now = parse_timestamp(&text, "--now")?;
                // git stores commit times as seconds since 1970: an earlier
                // one makes commits `git fsck` rejects (badDate).
                if now < Timestamp::UNIX_EPOCH {
                    return Err(Error::Usage(format!(
                        "--now: '{text}' is before 1970-01-01T00:00:00Z, which git cannot record; give a later time"
                    )));
                }
                Ok(Some(Clock { now }))
            }
            None => Ok(None),
        }
    }

    /// A clock fixed at `now`.
    pub fn fixed(now: Timestamp) -> Clock {
        Clock { now }
    }

    /// How long ago `then` was (negative if in the future).
    pub fn age(&self, then: Timestamp) -> SignedDuration {
        self.now.duration_since(then)
    }
}

/// Parses an RFC 3339 timestamp such as `2026-11-25T12:00:00Z`.
pub fn parse_timestamp(text: &str, what: &str) -> Result<Timestamp> {
    text.trim()
        .parse::<Timestamp>()
        .map_err(|e| Error::Usage(format!("{what}: '{text}' is not an RFC 3339 time like 2026-11-25T12:00:00Z ({e})")))
}

/// Formats an instant as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a duration such as `30d`, `2w`, `12h`, `90m`, `45s` or `1w3d`.
pub fn parse_duration(text: &str) -> std::result::Result<SignedDuration, String> {
    let bad = || format!("'{text}' is not a duration like 30d, 2w, 12h or 1w3d");
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(SignedDuration::from_secs(total))
}

/// Formats a duration the way it was likely written: the largest unit that
/// divides it evenly (`30d`, `2w`, `36h`).
pub fn format_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    for (unit, len) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs != 0 && secs % len == 0 {
            return format!("{}{unit}", secs / len);
        }
    }
    format!("{secs}s")
}

/// How long ago, in words: `10m ago`, `just now`, `in the future`.
pub fn ago(d: SignedDuration) -> String {
    match human_age(d).as_str() {
        s @ ("just now" | "in the future") => s.to_owned(),
        s => format!("{s} ago"),
    }
}

/// A short human age: `just now`, `45m`, `20h`, `12d`, `9w`, `3y`.
pub fn human_age(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < 0 {
        return "in the future".into();
    }
    match secs {
        0..60 => "just now".into(),
        60..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        172_800..5_184_000 => format!("{}d", secs / 86_400),
        5_184_000..63_072_000 => format!("{}w", secs / 604_800),
        _ => format!("{}y", secs / 31_536_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse_duration("1w3d").unwrap().as_secs(), 10 * 86_400);
        assert_eq!(parse_duration(" 12h ").unwrap().as_secs(), 12 * 3600);
        assert_eq!(parse_duration("0s").unwrap().as_secs(), 0);
        for bad in ["", "d", "10", "5x", "-3d", "1.5d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(SignedDuration::from_hours(48)), "2d");
        assert_eq!(format_duration(SignedDuration::from_hours(336)), "2w");
        assert_eq!(format_duration(SignedDuration::from_secs(90)), "90s");
    }

    #[test]
    fn ages_are_short() {
        let h = |n| SignedDuration::from_hours(n);
        assert_eq!(human_age(SignedDuration::from_secs(5)), "just now");
        assert_eq!(human_age(SignedDuration::from_mins(45)), "45m");
        assert_eq!(human_age(h(20)), "20h");
        assert_eq!(human_age(h(24 * 12)), "12d");
        assert_eq!(human_age(h(24 * 7 * 9)), "9w");
        assert_eq!(human_age(h(24 * 365 * 3)), "3y");
        assert_eq!(human_age(h(-1)), "in the future");
        assert_eq!(ago(h(-1)), "in the future");
        assert_eq!(ago(h(3)), "3h ago");
    }

    #[test]
    fn timestamps_parse_strictly() {
        let t = parse_timestamp("2026-11-25T12:00:00Z", "--now").unwrap();
        assert_eq!(rfc3339(t), "2026-11-25T12:00:00Z");
        assert_eq!(rfc3339(parse_timestamp("2026-11-25T13:00:00+01:00", "x").unwrap()), "2026-11-25T12:00:00Z");
        assert!(parse_timestamp("yesterday", "--now").is_err());
    }
}
