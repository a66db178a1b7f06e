//! Case ids: one per incident, the same on every delivery of the same signal.

/// A case id derived from the signal's own id (a GuardDuty finding id, a Health event ARN), so
/// that a redelivered or re-published finding lands in the same case and its steps stay idempotent.
pub fn case_id_for(signal_id: &str) -> String {
    // FNV-1a: stable across builds and platforms, which `DefaultHasher` does not promise.
    let hash = signal_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("fb-{hash:016x}")
}

/// Whether the text is a case id as [`case_id_for`] makes them: `fb-` and 16 lowercase hex digits.
pub fn is_case_id(text: &str) -> bool {
    text.strip_prefix("fb-")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_is_stable_and_distinct() {
        assert_eq!(case_id_for("abc"), case_id_for("abc"));
        assert_ne!(case_id_for("abc"), case_id_for("abd"));
        // Pinned so that a change of hash (which would split open cases in two) is noticed.
        assert_eq!(case_id_for(""), "fb-cbf29ce484222325");
        assert_eq!(case_id_for("abc").len(), 19);
    }
}
