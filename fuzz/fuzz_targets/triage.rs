//! Feed arbitrary bytes to `triage` with the corpus config and register: it must never panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use doorstroom::config::Config;
use doorstroom::understand::{triage, Register};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = include_str!("../../tests/corpus/doorstroom.toml");
        Config::parse(text, Path::new("tests/corpus/doorstroom.toml"))
            .unwrap_or_else(|e| panic!("corpus config: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = triage(data, &Register::default(), config());
});
