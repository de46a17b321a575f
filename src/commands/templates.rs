//! `doorstroom templates export DIR` and `doorstroom templates preview NAME`: the admin's way to
//! change a mail template. Export writes the shipped set for editing; preview renders one mail
//! kind with the sample data every template is checked with, through the installation's own
//! templates (the shipped set with the override folder on top), so an admin sees a change before
//! a partner does.

use std::path::Path;

use anyhow::{bail, Context as _};

use crate::config::Config;
use crate::outbox::templates::{sample_case_for, samples, Templates, SHIPPED, TEMPLATE_NAMES};

/// Write every shipped template (and the README that documents their data) into `dir`. Refuses
/// to overwrite a file, so an admin's edits are never lost.
pub fn export(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let existing: Vec<&str> = SHIPPED
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| dir.join(name).exists())
        .collect();
    if !existing.is_empty() {
        bail!(
            "{} already holds {} (and {} more); export into an empty folder, so that no edited \
             template is overwritten",
            dir.display(),
            existing[0],
            existing.len() - 1
        );
    }
    for (name, source) in SHIPPED {
        let path = dir.join(name);
        std::fs::write(&path, source)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    crate::outln!(
        "wrote the {} shipped template files to {}\n\
         Keep only the files you change (delete the others, so later versions' fixes reach you),\n\
         set `dir = \"{}\"` under [templates] in the config, check with `doorstroom check` and\n\
         look at a mail with `doorstroom templates preview NAME`.",
        SHIPPED.len(),
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// Render mail kind `name` with sample data: text and HTML to stdout, or `NAME.txt` and
/// `NAME.html` into `out`.
pub fn preview(config: &Config, name: &str, out: Option<&Path>) -> anyhow::Result<()> {
    if !TEMPLATE_NAMES.contains(&name) {
        let hint = crate::config::diagnostics::did_you_mean(
            name,
            &TEMPLATE_NAMES
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>(),
        )
        .map(|m| format!("did you mean `{m}`? "))
        .unwrap_or_default();
        bail!(
            "there is no mail kind `{name}`; {hint}the mail kinds are: {}",
            TEMPLATE_NAMES.join(", ")
        );
    }
    let templates = Templates::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, variant, data) = samples()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .context("this mail kind has no sample data")?;
    let case = sample_case_for(config, name, variant);
    let mail = templates
        .render_notice(config, name, case.as_ref(), &data)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = format!("Onderwerp: {}\n\n{}", mail.subject, mail.text);
    match out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (ext, body) in [("txt", &text), ("html", &mail.html)] {
                let path = dir.join(format!("{name}.{ext}"));
                std::fs::write(&path, body)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                crate::outln!("{}", path.display());
            }
        }
        None => {
            crate::outln!("===== {name}.txt =====\n{text}");
            crate::outln!("===== {name}.html =====\n{}", mail.html);
        }
    }
    Ok(())
}
