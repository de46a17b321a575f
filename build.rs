//! Link flags for the `doorstroom` binary, and the table of the mail templates it ships inside.

use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    embed_templates();
    // Pack the binary's relative relocations (DT_RELR, glibc ≥ 2.36, binutils ≥ 2.38): a PIE of
    // this size otherwise carries over a megabyte of them, read at every start and kept resident.
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux-gnu") && linker_packs_relocations() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the system linker knows `-z pack-relative-relocs` (older ones reject it).
fn linker_packs_relocations() -> bool {
    std::process::Command::new("ld")
        .arg("--help")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("pack-relative-relocs"))
}

/// Write `$OUT_DIR/templates.rs`: `&[(file name, include_str!(file))]` for every `*.j2` file (and the
/// README) of `mail-templates/`, sorted by name. The file names are the keys an override folder
/// uses, so an edit to a shipped template flows into the binary at the next build.
fn embed_templates() {
    let root =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = root.join("mail-templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("mail-templates/ is part of the source")
        .map(|e| {
            e.expect("read mail-templates/")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".j2") || n == "README.md")
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for name in &names {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("]\n");
    let target = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(target.join("templates.rs"), out).expect("write OUT_DIR/templates.rs");
}
