//! Link flags for the `doorstroom` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
