// Follows git's diffcore-delta.c (GPL-2.0-only); see NOTICE.
//! Content similarity as git's diffcore-delta estimates it.
//!
//! Rename detection needs a cheap, symmetric-enough answer to "how much of
//! this new file came from that old one?".  git answers it without running a
//! real diff: each blob is cut into spans (a span ends after a LF or after 64
//! bytes, whichever comes first), each span is hashed into one of roughly
//! 2^17 buckets, and the two bucket histograms are compared.  The bytes of a
//! span that appear at least as often in the destination count as copied.
//!
//! Everything here must agree with git bit for bit, because a score one unit
//! below the threshold turns a rename into an add/delete pair and changes the
//! whole merge.

/// The score of an identical pair; similarity scores run from 0 to this.
pub const MAX_SCORE: u32 = 60_000;

/// git's default minimum similarity for a rename (50%).
pub const DEFAULT_RENAME_SCORE: u32 = 30_000;

/// The prime modulus git reduces every span hash by.
const HASHBASE: u32 = 107_927;

/// Spans are cut after this many bytes even without a newline.
const MAX_SPAN: u32 = 64;

/// How far into a blob git looks for a NUL byte to call it binary.
const BINARY_PROBE_LEN: usize = 8000;

/// The span histogram of one blob: (span hash, bytes in spans with that hash),
/// sorted by hash, one entry per distinct hash.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    spans: Vec<(u32, u32)>,
}

impl Fingerprint {
    /// Computes the span histogram of `content`.
    ///
    /// Text blobs (no NUL in the first 8000 bytes) ignore the CR of every
    /// CRLF, so a file and its CRLF twin fingerprint alike.
    pub fn of(content: &[u8]) -> Self {
        Self::with_binary(content, is_binary(content))
    }

    /// Computes the span histogram of `content`, treating it as binary (CRs
    /// kept) or text (CR of CRLF dropped) as told, as git does when a
    /// gitattributes `diff` setting decides instead of the content.
    pub fn with_binary(content: &[u8], binary: bool) -> Self {
        let is_text = !binary;
        let mut spans = Vec::new();
        let mut hasher = SpanHasher::default();
        for (i, &byte) in content.iter().enumerate() {
            if is_text && byte == b'\r' && content.get(i + 1) == Some(&b'\n') {
                continue;
            }
            if let Some(span) = hasher.push(byte) {
                spans.push(span);
            }
        }
        if let Some(span) = hasher.finish() {
            spans.push(span);
        }
        Self::from_spans(spans)
    }

    /// Sorts raw spans by hash and folds spans sharing a hash together.
    fn from_spans(mut raw: Vec<(u32, u32)>) -> Self {
        raw.sort_unstable_by_key(|&(hash, _)| hash);
        let mut spans: Vec<(u32, u32)> = Vec::with_capacity(raw.len());
        for (hash, len) in raw {
            match spans.last_mut() {
                Some(last) if last.0 == hash => last.1 += len,
                _ => spans.push((hash, len)),
            }
        }
        Self { spans }
    }

    /// Bytes of `self` (the source) that also occur in `dst`: for every span
    /// hash, the smaller of the two byte counts.
    pub fn copied_into(&self, dst: &Fingerprint) -> u64 {
        let mut copied = 0u64;
        let mut dst_iter = dst.spans.iter().peekable();
        for &(hash, src_len) in &self.spans {
            while dst_iter.next_if(|&&(h, _)| h < hash).is_some() {}
            if let Some(&(_, dst_len)) = dst_iter.next_if(|&&(h, _)| h == hash) {
                copied += u64::from(src_len.min(dst_len));
            }
        }
        copied
    }
}

/// The rolling state of the span currently being hashed.
#[derive(Debug, Default)]
struct SpanHasher {
    high: u32,
    low: u32,
    len: u32,
}

impl SpanHasher {
    /// Feeds one byte; returns the finished span when this byte ends one.
    fn push(&mut self, byte: u8) -> Option<(u32, u32)> {
        let old_high = self.high;
        self.high = ((self.high << 7) ^ (self.low >> 25)).wrapping_add(u32::from(byte));
        self.low = (self.low << 7) ^ (old_high >> 25);
        self.len += 1;
        if self.len < MAX_SPAN && byte != b'\n' {
            return None;
        }
        self.finish()
    }

    /// Closes the current span, if it holds any byte, and starts a new one.
    fn finish(&mut self) -> Option<(u32, u32)> {
        if self.len == 0 {
            return None;
        }
        let hash = self.high.wrapping_add(self.low.wrapping_mul(0x61)) % HASHBASE;
        let span = (hash, self.len);
        *self = Self::default();
        Some(span)
    }
}

/// Whether git's default binary detection calls `content` binary: a NUL
/// byte somewhere in its first 8000 bytes.
pub fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(BINARY_PROBE_LEN)].contains(&0)
}

/// Whether two blob sizes differ too much for the pair to reach `min_score`.
///
/// git refuses to look at the content when the size difference exceeds
/// `(MAX_SCORE - min_score) / MAX_SCORE` of the larger size; it does the
/// comparison in floating point, and so does this.
pub fn sizes_rule_out(src_size: u64, dst_size: u64, min_score: u32) -> bool {
    let max = src_size.max(dst_size) as f64;
    let delta = src_size.abs_diff(dst_size) as f64;
    let max_score = f64::from(MAX_SCORE);
    max * (max_score - f64::from(min_score)) < delta * max_score
}

/// The similarity score of a pair from its copied byte count and sizes.
pub fn score_from_copied(copied: u64, src_size: u64, dst_size: u64) -> u32 {
    if dst_size == 0 {
        return 0;
    }
    let max = src_size.max(dst_size) as f64;
    (copied as f64 * f64::from(MAX_SCORE) / max) as u32
}

/// Estimates how similar `dst` is to `src`, as a score out of [`MAX_SCORE`].
///
/// This is git's `estimate_similarity()` for two regular files: 0 when the
/// sizes alone rule out reaching `min_score`, otherwise the share of the
/// larger blob that was copied from `src` into `dst`.  The score is exact
/// (not rounded to a percentage), so it may be compared to thresholds.
pub fn estimate_similarity(src: &[u8], dst: &[u8], min_score: u32) -> u32 {
    let (src_size, dst_size) = (src.len() as u64, dst.len() as u64);
    if sizes_rule_out(src_size, dst_size, min_score) {
        return 0;
    }
    let copied = Fingerprint::of(src).copied_into(&Fingerprint::of(dst));
    score_from_copied(copied, src_size, dst_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes one span the slow, obvious way, for cross-checking.
    fn span_hash(bytes: &[u8]) -> u32 {
        let (mut a1, mut a2) = (0u32, 0u32);
        for &c in bytes {
            let old = a1;
            a1 = (a1 << 7) ^ (a2 >> 25);
            a2 = (a2 << 7) ^ (old >> 25);
            a1 = a1.wrapping_add(u32::from(c));
        }
        a1.wrapping_add(a2.wrapping_mul(0x61)) % HASHBASE
    }

    #[test]
    fn short_line_hash_is_hand_computable() {
        // "a\n": accum1 = ('a' << 7) + '\n' = 97 * 128 + 10 = 12426,
        // accum2 = 0, so the hash is 12426 % 107927.
        assert_eq!(Fingerprint::of(b"a\n").spans, vec![(12426, 2)]);
        // "ab": (97 << 7) + 98 = 12514, a span without a newline.
        assert_eq!(Fingerprint::of(b"ab").spans, vec![(12514, 2)]);
    }

    #[test]
    fn long_lines_are_cut_every_64_bytes() {
        let line = [b'x'; 130];
        let fp = Fingerprint::of(&line);
        // Two identical 64-byte spans fold into one entry, plus a 2-byte tail.
        let full = span_hash(&[b'x'; 64]);
        let tail = span_hash(b"xx");
        let mut expected = vec![(full, 128), (tail, 2)];
        expected.sort();
        assert_eq!(fp.spans, expected);
    }

    #[test]
    fn accumulator_wraps_like_unsigned_int() {
        // Long enough for the 7-bit shifts to overflow both accumulators.
        let bytes: Vec<u8> = (0..63u8).map(|i| 200u8.wrapping_add(i)).collect();
        assert_eq!(Fingerprint::of(&bytes).spans, vec![(span_hash(&bytes), 63)]);
    }

    #[test]
    fn crlf_counts_like_lf_for_text_only() {
        assert_eq!(Fingerprint::of(b"one\r\ntwo\r\n"), Fingerprint::of(b"one\ntwo\n"));
        // A lone CR is data, not a line end.
        assert_ne!(Fingerprint::of(b"one\rtwo\n"), Fingerprint::of(b"onetwo\n"));
        // With a NUL the blob is binary and CRs are kept.
        assert_ne!(Fingerprint::of(b"\0one\r\n"), Fingerprint::of(b"\0one\n"));
        // The NUL only counts inside the first 8000 bytes.
        let mut late_nul = vec![b'a'; 8000];
        late_nul.extend_from_slice(b"\0x\r\n");
        assert!(!is_binary(&late_nul));
    }

    #[test]
    fn copied_takes_the_smaller_count_per_hash() {
        let src = Fingerprint::of(b"a\na\nb\n");
        let dst = Fingerprint::of(b"a\nb\nb\nc\n");
        // "a\n": min(4, 2) = 2; "b\n": min(2, 4) = 2; "c\n" only in dst.
        assert_eq!(src.copied_into(&dst), 4);
        assert_eq!(dst.copied_into(&src), 4);
    }

    #[test]
    fn score_is_share_of_the_larger_blob() {
        // 4 of 8 bytes copied: exactly half of MAX_SCORE.
        assert_eq!(estimate_similarity(b"a\nb\nc\nd\n", b"a\nb\nx\ny\n", 0), 30_000);
        // 3 shared lines of 4, sizes equal: 45000.
        assert_eq!(estimate_similarity(b"a\nb\nc\nd\n", b"a\nb\nc\ne\n", 0), 45_000);
        // Identical content scores MAX_SCORE.
        assert_eq!(estimate_similarity(b"same\n", b"same\n", 30_000), MAX_SCORE);
        // CRLF twin: copied bytes exclude CRs but the size includes them.
        // 4 copied / 5 bytes * 60000 = 48000.
        assert_eq!(estimate_similarity(b"abc\n", b"abc\r\n", 30_000), 48_000);
    }

    #[test]
    fn size_shortcut_matches_git_arithmetic() {
        // 50%: the smaller blob must be at least half the larger one.
        assert!(!sizes_rule_out(100, 50, 30_000));
        assert!(sizes_rule_out(100, 49, 30_000));
        assert!(sizes_rule_out(0, 1, 30_000));
        assert!(!sizes_rule_out(0, 0, 30_000));
        // The shortcut returns 0 even when content would have matched.
        assert_eq!(estimate_similarity(b"a\n", b"a\na\na\n", 30_000), 0);
        assert_eq!(estimate_similarity(b"a\n", b"a\na\na\n", 0), 20_000);
        // An empty destination never scores.
        assert_eq!(estimate_similarity(b"", b"", 0), 0);
    }
}
