//! The three programs the live tests run, the releases the repository pins for them, and
//! where their builds are cached.
//!
//! The releases are read from the files users run, so that the tests run what compose
//! runs: the collector's from its builder manifest (whose version a static test ties to
//! the compose image), Prometheus' and Jaeger's from their compose image tags.

use std::path::{Path, PathBuf};

use platform_check::{Value, compose_services, get_str, image_tag};

/// The Collector Builder manifest, relative to the repository root.
pub const MANIFEST: &str = "platform/otel-collector/builder.yaml";

/// How to fill the cache; every "not built" message names it.
pub const BUILD_COMMAND: &str = "cargo run -p platform-live --bin build-platform";

/// Bumped when the way a program is built changes, so that old builds are not reused.
const RECIPE: &str = "1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Collector,
    Prometheus,
    Jaeger,
}

impl Program {
    pub const ALL: [Program; 3] = [Program::Collector, Program::Prometheus, Program::Jaeger];

    /// As people write it.
    pub fn title(self) -> &'static str {
        match self {
            Program::Collector => "the OpenTelemetry Collector",
            Program::Prometheus => "Prometheus",
            Program::Jaeger => "Jaeger",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Program::Collector => "otelcol",
            Program::Prometheus => "prometheus",
            Program::Jaeger => "jaeger",
        }
    }

    /// The executables a build leaves in its cache directory.
    pub fn executables(self) -> &'static [&'static str] {
        match self {
            Program::Collector => &["otelcol-workshop"],
            Program::Prometheus => &["prometheus", "promtool"],
            Program::Jaeger => &["jaeger"],
        }
    }
}

/// One program at the release the repository pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    pub program: Program,
    /// The release as the compose file pins its image: `0.159.0`, `3.14.0`, `2.13.0`.
    pub release: String,
    /// The Go module it is built from, and that module's version for this release.
    pub module: String,
    pub module_version: String,
    /// Everything besides the release that decides the binary (the collector's manifest),
    /// folded into the cache key.
    pub recipe: String,
}

impl Pinned {
    /// `<cache root>/<name>-<release>-<key>`: a new manifest or recipe gets a new directory.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(format!(
            "{}-{}-{:016x}",
            self.program.name(),
            self.release,
            digest(format!("{RECIPE}\n{}\n{}", self.module_version, self.recipe).as_bytes())
        ))
    }

    /// Whether every executable of this build is in the cache.
    pub fn is_built(&self, root: &Path) -> bool {
        let dir = self.dir(root);
        self.program
            .executables()
            .iter()
            .all(|exe| dir.join(exe).is_file())
    }
}

/// The three programs at the releases this repository pins.
pub fn pinned(repo: &Path) -> Result<Vec<Pinned>, String> {
    let manifest_text = std::fs::read_to_string(repo.join(MANIFEST))
        .map_err(|e| format!("{MANIFEST}: cannot read it: {e}"))?;
    let manifest = platform_check::parse_yaml(&manifest_text, MANIFEST)?;
    let collector = get_str(&manifest, &["dist", "version"])
        .ok_or_else(|| format!("{MANIFEST}: no dist.version"))?
        .to_owned();

    let compose = load_yaml_at(repo, "docker-compose.yml")?;
    let prometheus = image_release(&compose, "prometheus", "docker-compose.yml")?;
    let jaeger_compose = load_yaml_at(repo, "platform/jaeger/compose.yml")?;
    let jaeger = image_release(&jaeger_compose, "jaeger", "platform/jaeger/compose.yml")?;

    Ok(vec![
        Pinned {
            program: Program::Collector,
            module: "go.opentelemetry.io/collector/cmd/builder".into(),
            module_version: format!("v{collector}"),
            release: collector,
            recipe: manifest_text,
        },
        Pinned {
            program: Program::Prometheus,
            module: "github.com/prometheus/prometheus".into(),
            module_version: prometheus_module_version(&prometheus)?,
            release: prometheus,
            recipe: String::new(),
        },
        Pinned {
            program: Program::Jaeger,
            module: "github.com/jaegertracing/jaeger".into(),
            module_version: jaeger_module_version(&jaeger)?,
            release: jaeger,
            recipe: String::new(),
        },
    ])
}

/// Where builds are kept: `$ISS_WORKSHOP_PLATFORM_CACHE`, else
/// `$XDG_CACHE_HOME/iss-workshop/platform`, else `~/.cache/iss-workshop/platform`. Outside
/// the repository, so that a fresh clone (as CI makes) reuses them.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("ISS_WORKSHOP_PLATFORM_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("iss-workshop/platform")
}

/// How to build only the collector (what `workshop check 6` and `workshop up --collector`
/// need): the same command, limited to it.
pub const BUILD_COLLECTOR_COMMAND: &str =
    "cargo run -p platform-live --bin build-platform -- otelcol";

/// The cached build of the pinned collector, or why there is none and how to make it.
pub fn collector_binary(repo: &Path) -> Result<PathBuf, String> {
    executable(repo, Program::Collector, "otelcol-workshop")
}

/// The cached build of one program's executable `exe`, or why there is none and how to
/// build that program alone (`… build-platform -- prometheus`).
pub fn executable(repo: &Path, program: Program, exe: &str) -> Result<PathBuf, String> {
    let root = cache_root();
    let pinned = pinned(repo)?;
    let build = pinned
        .iter()
        .find(|p| p.program == program)
        .expect("every program is pinned");
    if !build.is_built(&root) {
        let how_long = match program {
            Program::Collector => "about 3 minutes",
            Program::Prometheus => "about 5 minutes",
            Program::Jaeger => "about 10 minutes",
        };
        return Err(format!(
            "{} {} is not built (in {}): build it with `{BUILD_COMMAND} -- {}` (needs Go; \
             {how_long} the first time)",
            program.title(),
            build.release,
            build.dir(&root).display(),
            program.name()
        ));
    }
    Ok(build.dir(&root).join(exe))
}

/// The built executables, for the tests.
#[derive(Clone, Debug)]
pub struct Programs {
    pub collector: PathBuf,
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
    pub jaeger: PathBuf,
    /// The releases, to say in the test's output what ran.
    pub releases: Vec<(Program, String)>,
}

impl Programs {
    /// Finds the builds of the pinned releases, or says which are missing and how to build
    /// them.
    pub fn locate(repo: &Path) -> Result<Programs, String> {
        let root = cache_root();
        let pinned = pinned(repo)?;
        let missing: Vec<String> = pinned
            .iter()
            .filter(|p| !p.is_built(&root))
            .map(|p| {
                format!(
                    "{} {} (in {})",
                    p.program.name(),
                    p.release,
                    p.dir(&root).display()
                )
            })
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "not built: {}.\nBuild them with `{BUILD_COMMAND}` (the first time takes several \
                 minutes and needs Go and the Go module proxy; .ci/run does it).",
                missing.join(", ")
            ));
        }
        let path = |program: Program, exe: &str| {
            pinned
                .iter()
                .find(|p| p.program == program)
                .expect("all three are pinned")
                .dir(&root)
                .join(exe)
        };
        Ok(Programs {
            collector: path(Program::Collector, "otelcol-workshop"),
            prometheus: path(Program::Prometheus, "prometheus"),
            promtool: path(Program::Prometheus, "promtool"),
            jaeger: path(Program::Jaeger, "jaeger"),
            releases: pinned
                .iter()
                .map(|p| (p.program, p.release.clone()))
                .collect(),
        })
    }
}

/// Prometheus 3's Go module numbers v3.X.Y as v0.3XX.Y (`v3.14.0` is `v0.314.0`).
pub fn prometheus_module_version(release: &str) -> Result<String, String> {
    let [major, minor, patch] = numbers(release)?;
    if major != 3 || minor > 99 {
        return Err(format!(
            "Prometheus {release}: only 3.x releases map to a Go module version (v0.3xx.y)"
        ));
    }
    Ok(format!("v0.3{minor:02}.{patch}"))
}

/// Jaeger tags each release twice, v1.N and v2.(N-63): the module's CHANGELOG heads each
/// entry `v1.76.0 / v2.13.0`. The Go module is published under the v1 numbers.
pub fn jaeger_module_version(release: &str) -> Result<String, String> {
    let [major, minor, patch] = numbers(release)?;
    if major != 2 {
        return Err(format!(
            "Jaeger {release}: only 2.x releases are built from github.com/jaegertracing/jaeger"
        ));
    }
    Ok(format!("v1.{}.{patch}", minor + 63))
}

fn numbers(release: &str) -> Result<[u32; 3], String> {
    let parts: Vec<u32> = release
        .trim_start_matches('v')
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{release}` is not a version like 1.2.3"))?;
    parts
        .try_into()
        .map_err(|_| format!("`{release}` is not a version like 1.2.3"))
}

/// The release in a compose service's image tag, without a leading `v`.
fn image_release(compose: &Value, service: &str, file: &str) -> Result<String, String> {
    let services = compose_services(compose);
    let image = services
        .get(service)
        .and_then(|s| get_str(s, &["image"]))
        .ok_or_else(|| format!("{file}: service `{service}` has no image"))?;
    let tag = image_tag(image).ok_or_else(|| format!("{file}: image `{image}` has no tag"))?;
    Ok(tag.trim_start_matches('v').to_owned())
}

fn load_yaml_at(repo: &Path, rel: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(repo.join(rel))
        .map_err(|e| format!("{rel}: cannot read it: {e}"))?;
    platform_check::parse_yaml(&text, rel)
}

/// FNV-1a: a stable fingerprint for cache keys (not a security boundary, so no crypto
/// crate for it).
pub fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_3_releases_map_to_v0_3xx_module_versions() {
        assert_eq!(prometheus_module_version("3.14.0").unwrap(), "v0.314.0");
        assert_eq!(prometheus_module_version("v3.5.2").unwrap(), "v0.305.2");
        assert!(prometheus_module_version("2.53.0").is_err());
        assert!(prometheus_module_version("3.14").is_err());
    }

    #[test]
    fn jaeger_2_releases_map_to_their_v1_twins() {
        assert_eq!(jaeger_module_version("2.13.0").unwrap(), "v1.76.0");
        assert_eq!(jaeger_module_version("2.0.0").unwrap(), "v1.63.0");
        assert!(jaeger_module_version("1.76.0").is_err());
    }

    #[test]
    fn a_changed_manifest_gets_another_cache_directory() {
        let a = Pinned {
            program: Program::Collector,
            release: "0.159.0".into(),
            module: "m".into(),
            module_version: "v0.159.0".into(),
            recipe: "receivers: [a]".into(),
        };
        let b = Pinned {
            recipe: "receivers: [a, b]".into(),
            ..a.clone()
        };
        let root = Path::new("/cache");
        assert_ne!(a.dir(root), b.dir(root));
        assert!(
            a.dir(root)
                .to_string_lossy()
                .starts_with("/cache/otelcol-0.159.0-")
        );
    }
}
