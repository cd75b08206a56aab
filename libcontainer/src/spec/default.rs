//! The default `config.json` that `quai spec` writes. PLACEHOLDER.

/// runc's default spec (with `rootless` adjustments) as JSON.
pub fn default_spec(rootless: bool) -> serde_json::Value {
    let _ = rootless;
    serde_json::json!({})
}
