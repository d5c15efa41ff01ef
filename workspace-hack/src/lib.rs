//! Empty: its Cargo.toml is what matters (see there why).
