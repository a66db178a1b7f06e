//! Asking before changing anything. A script must say `--yes`: without a terminal to ask on,
//! the command refuses rather than guess.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, Result};

pub fn confirm(yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Refused(format!(
            "not confirmed: no terminal to ask on, so {what} was not done and nothing was changed (pass --yes to act without asking)"
        )));
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "Proceed? [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|e| CliError::failed(format!("cannot read the answer: {e}")))?;
    if is_yes(&answer) {
        Ok(())
    } else {
        Err(CliError::Refused(format!("not confirmed: {what} was not done and nothing was changed")))
    }
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_yes_is_yes() {
        assert!(super::is_yes("y\n") && super::is_yes(" YES "));
        assert!(!super::is_yes("\n") && !super::is_yes("n") && !super::is_yes("yep"));
    }
}
