//! Reprojection of the planar coordinates found in FINESS files to WGS84, in pure Rust.
//!
//! Supported systems (DOMAIN.md §3.1; EPSG definitions checked against PROJ 9.5):
//! Lambert-93 (EPSG:2154, mainland France and Corsica) and the UTM systems of the overseas
//! departments. Every supported datum (RGF93, RGAF09, RRAF 1991, RGFG95, RGR92, RGM04, RGSPM06)
//! is ITRF-based: PROJ applies a null transformation from each to WGS84, so none is applied here.
//! An EPSG code outside this list is an error, never a guess.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

/// Mean Earth radius (IUGG R1), in kilometres, used by [`haversine_km`].
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Margin, in degrees, allowed around a system's area of use before a point is refused.
const AREA_MARGIN_DEG: f64 = 0.5;

/// Why a coordinate pair could not be reprojected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// The EPSG code is not one of the systems FINESS uses.
    #[error("unsupported coordinate system EPSG:{0}")]
    UnsupportedEpsg(u32),
    /// A coordinate is NaN or infinite, or the computation did not converge.
    #[error("coordinates are not finite numbers")]
    NonFinite,
    /// The point falls outside the area where the system is used.
    #[error("point ({lat:.5}, {lon:.5}) lies outside the area of use of EPSG:{epsg}")]
    OutsideArea {
        /// The system the coordinates were given in.
        epsg: u32,
        /// Latitude that the coordinates reproject to, in degrees.
        lat: f64,
        /// Longitude that the coordinates reproject to, in degrees.
        lon: f64,
    },
}

/// A reference ellipsoid: semi-major axis (m) and flattening.
#[derive(Debug, Clone, Copy)]
struct Ellipsoid {
    a: f64,
    f: f64,
}

impl Ellipsoid {
    /// First eccentricity.
    fn e(self) -> f64 {
        (self.f * (2.0 - self.f)).sqrt()
    }
}

const GRS80: Ellipsoid = Ellipsoid { a: 6_378_137.0, f: 1.0 / 298.257_222_101 };
const WGS84: Ellipsoid = Ellipsoid { a: 6_378_137.0, f: 1.0 / 298.257_223_563 };

/// A geographic box in degrees (south, north, west, east).
#[derive(Debug, Clone, Copy)]
struct Area {
    south: f64,
    north: f64,
    west: f64,
    east: f64,
}

impl Area {
    fn contains(self, lat: f64, lon: f64) -> bool {
        let m = AREA_MARGIN_DEG;
        (self.south - m..=self.north + m).contains(&lat) && (self.west - m..=self.east + m).contains(&lon)
    }
}

/// The map projection of a supported system.
#[derive(Debug, Clone, Copy)]
enum Projection {
    Lambert93,
    Utm { zone: u8, south: bool },
}

/// One supported coordinate reference system.
#[derive(Debug, Clone, Copy)]
struct Crs {
    epsg: u32,
    name: &'static str,
    projection: Projection,
    ellipsoid: Ellipsoid,
    area: Area,
}

const fn crs(epsg: u32, name: &'static str, projection: Projection, ellipsoid: Ellipsoid, area: [f64; 4]) -> Crs {
    let [south, north, west, east] = area;
    Crs { epsg, name, projection, ellipsoid, area: Area { south, north, west, east } }
}

const fn utm(zone: u8, south: bool) -> Projection {
    Projection::Utm { zone, south }
}

/// Areas of use: EPSG's own for the French systems, the whole UTM band for the WGS84 ones.
const SUPPORTED: [Crs; 12] = [
    crs(2154, "RGF93 / Lambert-93", Projection::Lambert93, GRS80, [41.15, 51.56, -9.86, 10.38]),
    crs(5490, "RGAF09 / UTM zone 20N", utm(20, false), GRS80, [14.08, 18.31, -63.66, -60.0]),
    crs(4559, "RRAF 1991 / UTM zone 20N", utm(20, false), GRS80, [14.08, 18.31, -63.66, -60.0]),
    crs(32620, "WGS 84 / UTM zone 20N", utm(20, false), WGS84, [0.0, 84.0, -66.0, -60.0]),
    crs(2972, "RGFG95 / UTM zone 22N", utm(22, false), GRS80, [2.11, 8.88, -54.61, -49.45]),
    crs(32622, "WGS 84 / UTM zone 22N", utm(22, false), WGS84, [0.0, 84.0, -54.0, -48.0]),
    crs(2975, "RGR92 / UTM zone 40S", utm(40, true), GRS80, [-24.72, -18.28, 54.0, 58.24]),
    crs(32740, "WGS 84 / UTM zone 40S", utm(40, true), WGS84, [-80.0, 0.0, 54.0, 60.0]),
    crs(4471, "RGM04 / UTM zone 38S", utm(38, true), GRS80, [-14.49, -11.33, 43.68, 46.7]),
    crs(32738, "WGS 84 / UTM zone 38S", utm(38, true), WGS84, [-80.0, 0.0, 42.0, 48.0]),
    crs(4467, "RGSPM06 / UTM zone 21N", utm(21, false), GRS80, [43.41, 47.37, -57.1, -55.9]),
    crs(32621, "WGS 84 / UTM zone 21N", utm(21, false), WGS84, [0.0, 84.0, -60.0, -54.0]),
];

fn find_crs(epsg: u32) -> Result<&'static Crs, GeoError> {
    SUPPORTED.iter().find(|c| c.epsg == epsg).ok_or(GeoError::UnsupportedEpsg(epsg))
}

/// The EPSG codes that [`to_wgs84`] accepts.
pub fn supported_epsg_codes() -> impl Iterator<Item = u32> {
    SUPPORTED.iter().map(|c| c.epsg)
}

/// The EPSG name of a supported system (e.g. "RGF93 / Lambert-93"), or `None`.
pub fn crs_name(epsg: u32) -> Option<&'static str> {
    find_crs(epsg).ok().map(|c| c.name)
}

/// Reprojects planar coordinates (easting `x`, northing `y`, metres) to WGS84 `(lat, lon)` degrees.
pub fn to_wgs84(epsg: u32, x: f64, y: f64) -> Result<(f64, f64), GeoError> {
    let crs = find_crs(epsg)?;
    if !x.is_finite() || !y.is_finite() {
        return Err(GeoError::NonFinite);
    }
    let (lat, lon) = match crs.projection {
        Projection::Lambert93 => Lcc::lambert93().inverse(x, y),
        Projection::Utm { zone, south } => Utm::new(crs.ellipsoid, zone, south).inverse(x, y),
    };
    check_area(crs, lat, lon)
}

/// Projects WGS84 `(lat, lon)` degrees to planar `(x, y)` metres in a supported system.
pub fn from_wgs84(epsg: u32, lat: f64, lon: f64) -> Result<(f64, f64), GeoError> {
    let crs = find_crs(epsg)?;
    if !lat.is_finite() || !lon.is_finite() {
        return Err(GeoError::NonFinite);
    }
    check_area(crs, lat, lon)?;
    let (x, y) = match crs.projection {
        Projection::Lambert93 => Lcc::lambert93().forward(lat, lon),
        Projection::Utm { zone, south } => Utm::new(crs.ellipsoid, zone, south).forward(lat, lon),
    };
    if x.is_finite() && y.is_finite() { Ok((x, y)) } else { Err(GeoError::NonFinite) }
}

fn check_area(crs: &Crs, lat: f64, lon: f64) -> Result<(f64, f64), GeoError> {
    if !lat.is_finite() || !lon.is_finite() {
        return Err(GeoError::NonFinite);
    }
    if crs.area.contains(lat, lon) { Ok((lat, lon)) } else { Err(GeoError::OutsideArea { epsg: crs.epsg, lat, lon }) }
}

/// Great-circle distance in kilometres between two WGS84 `(lat, lon)` points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dp = p2 - p1;
    let dl = (b.1 - a.1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Isometric latitude of geodetic latitude `phi` (radians) on an ellipsoid of eccentricity `e`.
fn isometric_latitude(phi: f64, e: f64) -> f64 {
    let es = e * phi.sin();
    (FRAC_PI_4 + phi / 2.0).tan().ln() + (e / 2.0) * ((1.0 - es) / (1.0 + es)).ln()
}

/// Geodetic latitude (radians) from an isometric latitude, by fixed-point iteration (IGN ALG0001).
fn latitude_from_isometric(iso: f64, e: f64) -> f64 {
    let exp_iso = iso.exp();
    let mut phi = 2.0 * exp_iso.atan() - FRAC_PI_2;
    // Converges to 1e-12 rad in about 6 rounds in France; the cap keeps garbage input bounded.
    for _ in 0..30 {
        let es = e * phi.sin();
        let next = 2.0 * (((1.0 + es) / (1.0 - es)).powf(e / 2.0) * exp_iso).atan() - FRAC_PI_2;
        let done = (next - phi).abs() < 1e-12;
        phi = next;
        if done || !phi.is_finite() {
            break;
        }
    }
    phi
}

/// A Lambert conformal conic projection, tangent-free form (IGN NT/G 71).
#[derive(Debug, Clone, Copy)]
struct Lcc {
    e: f64,
    n: f64,
    c: f64,
    lon0: f64,
    xs: f64,
    ys: f64,
}

impl Lcc {
    /// Lambert-93: GRS80, parallels 44°N and 49°N, origin 46°30'N 3°E at (700 000, 6 600 000).
    fn lambert93() -> Self {
        let (phi0, phi1, phi2) = (46.5_f64.to_radians(), 44.0_f64.to_radians(), 49.0_f64.to_radians());
        let e = GRS80.e();
        let m = |phi: f64| phi.cos() / (1.0 - (e * phi.sin()).powi(2)).sqrt();
        let (l1, l2) = (isometric_latitude(phi1, e), isometric_latitude(phi2, e));
        let n = (m(phi1) / m(phi2)).ln() / (l2 - l1);
        let c = GRS80.a * m(phi1) * (n * l1).exp() / n;
        let ys = 6_600_000.0 + c * (-n * isometric_latitude(phi0, e)).exp();
        Lcc { e, n, c, lon0: 3.0_f64.to_radians(), xs: 700_000.0, ys }
    }

    fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.xs, y - self.ys);
        let r = dx.hypot(dy);
        let gamma = dx.atan2(-dy);
        let lon = self.lon0 + gamma / self.n;
        let iso = -(r / self.c).ln() / self.n;
        (latitude_from_isometric(iso, self.e).to_degrees(), lon.to_degrees())
    }

    fn forward(&self, lat: f64, lon: f64) -> (f64, f64) {
        let r = self.c * (-self.n * isometric_latitude(lat.to_radians(), self.e)).exp();
        let gamma = self.n * (lon.to_radians() - self.lon0);
        (self.xs + r * gamma.sin(), self.ys - r * gamma.cos())
    }
}

/// Universal Transverse Mercator with Krüger's series to 4th order in n (Karney 2011, sub-mm).
#[derive(Debug, Clone, Copy)]
struct Utm {
    e: f64,
    k0_a: f64,
    alpha: [f64; 4],
    beta: [f64; 4],
    lon0: f64,
    false_northing: f64,
}

impl Utm {
    fn new(ell: Ellipsoid, zone: u8, south: bool) -> Self {
        let n = ell.f / (2.0 - ell.f);
        let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
        let rectifying_radius = ell.a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161_280.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ];
        let lon0 = (f64::from(zone) * 6.0 - 183.0).to_radians();
        let false_northing = if south { 10_000_000.0 } else { 0.0 };
        Utm { e: ell.e(), k0_a: 0.9996 * rectifying_radius, alpha, beta, lon0, false_northing }
    }

    fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let xi = (y - self.false_northing) / self.k0_a;
        let eta = (x - 500_000.0) / self.k0_a;
        let (mut xi1, mut eta1) = (xi, eta);
        for (j, b) in self.beta.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi1 -= b * (k * xi).sin() * (k * eta).cosh();
            eta1 -= b * (k * xi).cos() * (k * eta).sinh();
        }
        let chi = (xi1.sin() / eta1.cosh()).asin();
        let lon = self.lon0 + eta1.sinh().atan2(xi1.cos());
        let lat = latitude_from_isometric(chi.sin().atanh(), self.e);
        (lat.to_degrees(), lon.to_degrees())
    }

    fn forward(&self, lat: f64, lon: f64) -> (f64, f64) {
        let phi = lat.to_radians();
        let dl = lon.to_radians() - self.lon0;
        let t = (phi.sin().atanh() - self.e * (self.e * phi.sin()).atanh()).sinh();
        let xi1 = t.atan2(dl.cos());
        let eta1 = (dl.sin() / (1.0 + t * t).sqrt()).atanh();
        let (mut xi, mut eta) = (xi1, eta1);
        for (j, a) in self.alpha.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi += a * (k * xi1).sin() * (k * eta1).cosh();
            eta += a * (k * xi1).cos() * (k * eta1).sinh();
        }
        (500_000.0 + self.k0_a * eta, self.false_northing + self.k0_a * xi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in metres between two (lat, lon) points.
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        haversine_km(a, b) * 1000.0
    }

    #[test]
    fn lambert93_constants_match_ign_published_values() {
        // IGN NT/G 71 and the Lambert-93 "constantes" sheet: n, C, Xs, Ys.
        let p = Lcc::lambert93();
        assert!((p.n - 0.725_607_765_053_267).abs() < 1e-12, "n = {}", p.n);
        assert!((p.c - 11_754_255.426_096).abs() < 1e-3, "C = {}", p.c);
        assert!((p.ys - 12_655_612.049_876).abs() < 1e-3, "Ys = {}", p.ys);
    }

    #[test]
    fn lambert93_origin_is_exact() {
        let (lat, lon) = to_wgs84(2154, 700_000.0, 6_600_000.0).unwrap();
        assert!((lat - 46.5).abs() < 1e-10 && (lon - 3.0).abs() < 1e-10, "{lat} {lon}");
    }

    /// Real pairs from the FINESS+ sample (BAN geocoding gives both Lambert-93 and WGS84;
    /// the sample stores the northing in coordonneeX, see DOMAIN.md §3.4). Values: (E, N, lat, lon).
    const BAN_PAIRS: [(f64, f64, f64, f64); 6] = [
        (941342.52, 6589480.53, 46.362063, 6.139885),
        (873766.07, 6570414.61, 46.211257, 5.254203),
        (908642.19, 6521545.08, 45.761585, 5.684769),
        (901442.83, 6546265.53, 45.986236, 5.602678),
        (845671.27, 6583540.77, 46.336059, 4.893976),
        (907567.24, 6537119.72, 45.902081, 5.677741),
    ];

    #[test]
    fn lambert93_matches_ban_geocoding_of_the_finess_sample() {
        for (x, y, lat, lon) in BAN_PAIRS {
            let got = to_wgs84(2154, x, y).unwrap();
            // The sample rounds lat/lon to 1e-6 degree (about 0.1 m).
            assert!(metres(got, (lat, lon)) < 0.15, "{x} {y}: {got:?} vs {lat} {lon}");
        }
    }

    /// Reference points computed with PROJ 9.5.1 (pyproj 3.7.2), WGS84 -> EPSG: (epsg, lat, lon, E, N).
    const PROJ_REFERENCE: [(u32, f64, f64, f64, f64); 13] = [
        (2154, 48.852966, 2.349902, 652297.0888, 6861632.5768), // Paris, Île de la Cité
        (2154, 43.296482, 5.36978, 892388.6584, 6247033.2080),  // Marseille, Vieux-Port
        (2154, 41.9192, 8.7386, 1176667.5614, 6108273.2834),    // Ajaccio
        (5490, 16.2411, -61.5331, 656770.8974, 1796166.1758),   // Pointe-à-Pitre
        (5490, 14.6037, -61.0742, 707448.5915, 1615373.4678),   // Fort-de-France
        (4559, 17.8962, -62.8498, 515909.8575, 1978707.9827),   // Gustavia (same as 5490)
        (32620, 18.0679, -63.0822, 491301.4266, 1997699.6959),  // Marigot
        (2972, 4.9224, -52.3135, 354363.1555, 544229.7815),     // Cayenne
        (32622, 5.1597, -52.6503, 317077.0398, 570554.3001),    // Kourou
        (2975, -20.8823, 55.4504, 338811.2385, 7690101.3600),   // Saint-Denis (Réunion)
        (32740, -21.3393, 55.4781, 342177.2155, 7639537.4907),  // Saint-Pierre (Réunion)
        (4471, -12.7806, 45.2279, 524735.3747, 8587115.8115),   // Mamoudzou
        (4467, 46.7811, -56.1764, 562869.8033, 5181168.3164),   // Saint-Pierre (SPM)
    ];

    #[test]
    fn inverse_matches_proj_reference_points() {
        for (epsg, lat, lon, x, y) in PROJ_REFERENCE {
            let got = to_wgs84(epsg, x, y).unwrap();
            assert!(metres(got, (lat, lon)) < 0.005, "EPSG:{epsg}: {got:?} vs {lat} {lon}");
        }
    }

    #[test]
    fn forward_matches_proj_reference_points() {
        for (epsg, lat, lon, x, y) in PROJ_REFERENCE {
            let (gx, gy) = from_wgs84(epsg, lat, lon).unwrap();
            assert!((gx - x).hypot(gy - y) < 0.005, "EPSG:{epsg}: {gx} {gy} vs {x} {y}");
        }
    }

    #[test]
    fn utm_round_trip_over_a_grid_of_each_zone() {
        for crs in SUPPORTED.iter().filter(|c| matches!(c.projection, Projection::Utm { .. })) {
            let a = crs.area;
            let (lat_lo, lat_hi) = (a.south.max(-60.0), a.north.min(60.0));
            for i in 0..=10 {
                for j in 0..=10 {
                    let lat = lat_lo + (lat_hi - lat_lo) * f64::from(i) / 10.0;
                    let lon = a.west + (a.east - a.west) * f64::from(j) / 10.0;
                    let (x, y) = from_wgs84(crs.epsg, lat, lon).unwrap();
                    let back = to_wgs84(crs.epsg, x, y).unwrap();
                    assert!(metres(back, (lat, lon)) < 0.001, "EPSG:{} at {lat} {lon}", crs.epsg);
                }
            }
        }
    }

    #[test]
    fn lambert93_round_trip_over_mainland_france() {
        for i in 0..=20 {
            for j in 0..=20 {
                let lat = 41.3 + 10.0 * f64::from(i) / 20.0;
                let lon = -5.0 + 14.0 * f64::from(j) / 20.0;
                let (x, y) = from_wgs84(2154, lat, lon).unwrap();
                let back = to_wgs84(2154, x, y).unwrap();
                assert!(metres(back, (lat, lon)) < 0.001, "{lat} {lon}");
            }
        }
    }

    #[test]
    fn real_finess_csv_points_land_where_expected() {
        // CH de Fleyriat, Viriat (DOMAIN.md §3.1, S18): PROJ gives 46.2222857, 5.2091811.
        let fleyriat = to_wgs84(2154, 870_262.2, 6_571_540.8).unwrap();
        assert!(metres(fleyriat, (46.222_285_7, 5.209_181_1)) < 0.05, "{fleyriat:?}");
        // Antilles line of the same extract (EPSG:5490): PROJ gives 16.2340043, -61.5287371.
        let antilles = to_wgs84(5490, 657_242.9, 1_795_384.4).unwrap();
        assert!(metres(antilles, (16.234_004_3, -61.528_737_1)) < 0.05, "{antilles:?}");
    }

    #[test]
    fn unknown_epsg_is_an_error() {
        assert_eq!(to_wgs84(4326, 2.0, 48.0), Err(GeoError::UnsupportedEpsg(4326)));
        assert_eq!(to_wgs84(27572, 600_000.0, 2_400_000.0), Err(GeoError::UnsupportedEpsg(27572)));
        assert_eq!(crs_name(9999), None);
        assert_eq!(crs_name(2154), Some("RGF93 / Lambert-93"));
        assert_eq!(supported_epsg_codes().count(), 12);
    }

    #[test]
    fn swapped_or_garbage_coordinates_are_refused() {
        // Lambert-93 easting and northing swapped, as in the FINESS+ JSON flow.
        let swapped = to_wgs84(2154, 6_570_414.61, 873_766.07);
        assert!(matches!(swapped, Err(GeoError::OutsideArea { epsg: 2154, .. })), "{swapped:?}");
        assert!(matches!(to_wgs84(5490, 0.0, 0.0), Err(GeoError::OutsideArea { .. })));
        assert_eq!(to_wgs84(2154, f64::NAN, 1.0), Err(GeoError::NonFinite));
        assert!(to_wgs84(2154, 1e300, -1e300).is_err());
        assert!(to_wgs84(32740, f64::MAX, f64::MIN).is_err());
    }

    #[test]
    fn haversine_known_distances() {
        assert_eq!(haversine_km((48.85, 2.35), (48.85, 2.35)), 0.0);
        // One degree of latitude on the mean sphere: 2πR/360.
        let one_degree = haversine_km((45.0, 5.0), (46.0, 5.0));
        assert!((one_degree - 111.195).abs() < 0.001, "{one_degree}");
        // Antipodes: half the circumference.
        let half = haversine_km((0.0, 0.0), (0.0, 180.0));
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6, "{half}");
        // Paris Notre-Dame to Marseille Vieux-Port is about 661 km as the crow flies.
        let pm = haversine_km((48.852966, 2.349902), (43.296482, 5.36978));
        assert!((pm - 661.0).abs() < 2.0, "{pm}");
    }
}
