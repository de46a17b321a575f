//! Write the hostile mails of issue 20 as `.eml` files into a directory, to measure the release
//! binary on them (README, "Reliability"):
//!
//! ```text
//! cargo run --release --example hostile -- /tmp/hostile
//! /usr/bin/time -v target/release/doorstroom ingest --json --config … /tmp/hostile/01-nested-rfc822-25000.eml
//! ```

#[path = "../tests/integration/hostile_mail.rs"]
mod hostile_mail;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hostile-mail".into());
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in hostile_mail::all() {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
