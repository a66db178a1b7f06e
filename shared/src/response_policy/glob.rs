//! Finding-type globs: `*` matches any run of characters (also none), `?` exactly one.

/// Why a pattern is refused: character classes and braces are not supported, and a silent literal
/// `[` would never match what its author meant.
pub(super) fn check(pattern: &str) -> Result<(), &'static str> {
    if pattern.is_empty() {
        return Err("an empty type pattern matches nothing");
    }
    if pattern.chars().any(|c| "[]{}\\".contains(c) || c.is_whitespace() || c.is_control()) {
        return Err("a type pattern uses only * and ? as wildcards (no [], {}, \\ or spaces)");
    }
    Ok(())
}

/// Whether `text` matches `pattern` in full (case-sensitive, as finding types are).
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it was tried at: backtrack there on a mismatch.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("Backdoor:EC2/*", "Backdoor:EC2/DenialOfService.Tcp"));
        assert!(matches("AttackSequence:*", "AttackSequence:S3/CompromisedData"));
        assert!(matches("*:EC2/*", "CryptoCurrency:EC2/BitcoinTool.B!DNS"));
        assert!(matches("Backdoor:EC2/DenialOfService.???", "Backdoor:EC2/DenialOfService.Tcp"));
        assert!(matches("*", ""));
        assert!(!matches("Backdoor:EC2/*", "Backdoor:Lambda/C&CActivity.B"));
        assert!(!matches("backdoor:ec2/*", "Backdoor:EC2/X"));
        assert!(!matches("Backdoor:EC2/?", "Backdoor:EC2/"));
        assert!(check("Backdoor:EC2/[A-Z]*").is_err());
        assert!(check("").is_err());
        assert!(check("Recon:EC2/*").is_ok());
    }
}
