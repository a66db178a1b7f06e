//! `firebreak release CASE`: wired to `firebreak::release` once it lands.

use crate::act::Mode;
use crate::aws::Session;
use crate::error::{CliError, Result};

pub async fn release(
    _session: &Session,
    case_id: &str,
    _credentials: bool,
    _reason: Option<String>,
    _mode: Mode,
) -> Result<()> {
    Err(CliError::failed(format!("release of {case_id}: not available in this build yet")))
}
