//! The collector's configuration as the workshop's sections leave it.
//!
//! `main` holds the configuration attendees start from; a section that teaches the
//! collector (section 6) changes `platform/otel-collector/` in its patch, like the other
//! sections change `services/`. Tests that run the finished workshop need the finished
//! configuration: a copy of the folder with every section's changes to it applied.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The collector's folder, relative to the repository root.
pub const COLLECTOR_DIR: &str = "platform/otel-collector";

/// The section patches, in order (`workshop/steps/*.patch`).
pub fn section_patches(repo: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = repo.join("workshop/steps");
    let mut patches: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .collect();
    patches.sort();
    Ok(patches)
}

/// Whether a patch changes anything under [`COLLECTOR_DIR`].
pub fn changes_collector(patch_text: &str) -> bool {
    patch_text.contains(&format!("diff --git a/{COLLECTOR_DIR}/"))
}

/// Copies [`COLLECTOR_DIR`] into `dest` (which must not be inside a git work tree: `git
/// apply` would then take paths as relative to that tree) and applies every section's
/// changes to it. Returns the copy of the folder, `dest/platform/otel-collector`.
pub fn finished_collector_config(repo: &Path, dest: &Path) -> Result<PathBuf, String> {
    let copy = dest.join(COLLECTOR_DIR);
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(&repo.join(COLLECTOR_DIR), &copy)
        .map_err(|e| format!("cannot copy {COLLECTOR_DIR} to {}: {e}", copy.display()))?;
    for patch in section_patches(repo)? {
        let text = std::fs::read_to_string(&patch)
            .map_err(|e| format!("cannot read {}: {e}", patch.display()))?;
        if !changes_collector(&text) {
            continue;
        }
        // Outside a repository, `git apply` patches the files under the current directory.
        let output = Command::new("git")
            .current_dir(dest)
            .arg("apply")
            .arg(format!("--include={COLLECTOR_DIR}/*"))
            .arg(&patch)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "{} does not apply to {COLLECTOR_DIR}: {}",
                patch.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    Ok(copy)
}

/// The chapters (`workshop/chapters/NN-section-N-….md`, relative to the repository) of the
/// sections whose patch changes the collector: what they query needs the finished config.
pub fn collector_chapters(repo: &Path) -> Result<Vec<String>, String> {
    let mut numbers = Vec::new();
    for patch in section_patches(repo)? {
        let text = std::fs::read_to_string(&patch)
            .map_err(|e| format!("cannot read {}: {e}", patch.display()))?;
        if changes_collector(&text) {
            let name = patch.file_stem().unwrap_or_default().to_string_lossy();
            numbers.push(section_of(&name).ok_or_else(|| {
                format!(
                    "{}: a section's patch is named section-N-…",
                    patch.display()
                )
            })?);
        }
    }
    let dir = repo.join("workshop/chapters");
    let mut chapters = Vec::new();
    for entry in
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?
    {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        let section = name
            .split_once("-section-")
            .and_then(|(_, rest)| section_of(&format!("section-{rest}")));
        if section.is_some_and(|n| numbers.contains(&n)) {
            chapters.push(format!("workshop/chapters/{name}"));
        }
    }
    chapters.sort();
    Ok(chapters)
}

/// `section-6-collector` → 6.
fn section_of(name: &str) -> Option<u32> {
    name.strip_prefix("section-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_numbered_in_their_names() {
        assert_eq!(section_of("section-6-collector"), Some(6));
        assert_eq!(section_of("section-6-collector.md"), Some(6));
        assert_eq!(section_of("wrap-up"), None);
    }

    #[test]
    fn only_patches_that_touch_the_collector_folder_count() {
        let services = "diff --git a/services/x.rs b/services/x.rs\n--- a/services/x.rs\n";
        let collector = "diff --git a/platform/otel-collector/config.yaml b/platform/otel-collector/config.yaml\n";
        assert!(!changes_collector(services));
        assert!(changes_collector(&format!("{services}{collector}")));
    }
}
