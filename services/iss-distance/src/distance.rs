//! The distance between two points on the Earth's surface.
//!
//! We use the haversine formula on a sphere of the Earth's mean radius:
//!
//! ```text
//! a = sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2)
//! d = 2 R · asin(√a)
//! ```
//!
//! with φ the latitudes and λ the longitudes in radians. Treating the Earth as a sphere is
//! off by at most about 0.5% against the WGS84 ellipsoid, far less than the ISS moves in a
//! second (7.7 km), so the extra code of an ellipsoidal formula (Vincenty, Karney) buys
//! nothing here.
//!
//! The ISS is 400 km up; the distance we report is between the given place and the point on
//! the ground directly below the ISS (its sub-satellite point), along the surface.

/// The IUGG mean Earth radius, in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point on the Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

/// Great-circle surface distance between `a` and `b`, in km.
pub fn great_circle_km(a: Point, b: Point) -> f64 {
    let (phi1, phi2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let d_phi = phi2 - phi1;
    let d_lambda = (b.longitude - a.longitude).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    // min(1.0) guards against rounding pushing `h` just above 1 for antipodal points.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(latitude: f64, longitude: f64) -> Point {
        Point {
            latitude,
            longitude,
        }
    }

    /// Reference distances: great-circle distances between city centres as published by
    /// common distance calculators (spherical, mean radius). We allow 0.5%.
    #[test]
    fn known_city_pairs() {
        let pairs = [
            (
                "London-Paris",
                p(51.5074, -0.1278),
                p(48.8566, 2.3522),
                343.5,
            ),
            (
                "Berlin-Munich",
                p(52.5200, 13.4050),
                p(48.1351, 11.5820),
                504.4,
            ),
            (
                "New York-Los Angeles",
                p(40.7128, -74.0060),
                p(34.0522, -118.2437),
                3935.7,
            ),
            (
                "Sydney-Tokyo",
                p(-33.8688, 151.2093),
                p(35.6762, 139.6503),
                7823.0,
            ),
            (
                "Quito-Singapore",
                p(-0.1807, -78.4678),
                p(1.3521, 103.8198),
                19_673.0,
            ),
        ];
        for (name, a, b, expected) in pairs {
            let got = great_circle_km(a, b);
            let error = (got - expected).abs() / expected;
            assert!(
                error < 0.005,
                "{name}: got {got:.1} km, expected {expected} km"
            );
        }
    }

    #[test]
    fn same_point_is_zero_and_order_does_not_matter() {
        let berlin = p(52.52, 13.405);
        assert_eq!(great_circle_km(berlin, berlin), 0.0);
        let paris = p(48.8566, 2.3522);
        assert!((great_circle_km(berlin, paris) - great_circle_km(paris, berlin)).abs() < 1e-9);
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let half = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((great_circle_km(p(0.0, 0.0), p(0.0, 180.0)) - half).abs() < 1e-6);
        assert!((great_circle_km(p(90.0, 0.0), p(-90.0, 0.0)) - half).abs() < 1e-6);
    }

    #[test]
    fn crossing_the_antimeridian_takes_the_short_way() {
        let d = great_circle_km(p(0.0, 179.5), p(0.0, -179.5));
        assert!((d - 111.19).abs() < 0.1, "got {d}");
    }
}
