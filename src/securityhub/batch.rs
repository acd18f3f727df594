//! Splitting findings into BatchImportFindings requests: at most 100 findings and
//! 240 KB of request body each (Security Hub's limits). Pure.

use std::ops::Range;

/// Findings per BatchImportFindings request.
pub const MAX_FINDINGS: usize = 100;
/// Bytes of request body per request.
pub const MAX_BYTES: usize = 240 * 1024;
/// `{"Findings":[` and `]}` around the findings.
const ENVELOPE: usize = 16;

/// Consecutive ranges of findings whose JSON sizes are `sizes`, each within both
/// limits (the separating commas counted). A finding larger than the byte limit
/// on its own goes alone (findings are cut to ASFF's field limits, far below it).
pub fn batches(sizes: &[usize]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = ENVELOPE;
    for (i, &size) in sizes.iter().enumerate() {
        let separator = usize::from(i > start);
        let full = i - start == MAX_FINDINGS || bytes + separator + size > MAX_BYTES;
        if i > start && full {
            out.push(start..i);
            start = i;
            bytes = ENVELOPE;
        }
        bytes += usize::from(i > start) + size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn at_most_100_findings_per_request() {
        let ranges = batches(&[100; 250]);
        assert_eq!(ranges, vec![0..100, 100..200, 200..250]);
    }

    #[test]
    fn at_most_240_kb_per_request() {
        // Three 100 KB findings: the third does not fit with the first two.
        let ranges = batches(&[100 * 1024; 3]);
        assert_eq!(ranges, vec![0..2, 2..3]);
        // The envelope and the commas count: 2 × 120 KB is just over.
        let half = MAX_BYTES / 2;
        assert_eq!(batches(&[half, half]), vec![0..1, 1..2]);
        let fits = (MAX_BYTES - ENVELOPE - 1) / 2;
        assert_eq!(batches(&[fits, fits]), vec![0..2]);
    }

    #[test]
    fn nothing_gives_no_request_and_a_giant_goes_alone() {
        assert!(batches(&[]).is_empty());
        assert_eq!(batches(&[10, MAX_BYTES * 2, 10]), vec![0..1, 1..2, 2..3]);
    }

    proptest! {
        #[test]
        fn every_finding_is_sent_once_within_the_limits(sizes in prop::collection::vec(1usize..60_000, 0..400)) {
            let ranges = batches(&sizes);
            let mut next = 0;
            for range in &ranges {
                prop_assert_eq!(range.start, next);
                prop_assert!(!range.is_empty() && range.len() <= MAX_FINDINGS);
                let body = ENVELOPE + sizes[range.clone()].iter().sum::<usize>() + range.len() - 1;
                prop_assert!(body <= MAX_BYTES);
                next = range.end;
            }
            prop_assert_eq!(next, sizes.len());
        }
    }
}
