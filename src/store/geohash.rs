//! Redis's geohash: a point is a 52-bit integer (26 bits of latitude and
//! 26 of longitude, interleaved) stored as a sorted set score, so a cell of
//! the grid is a contiguous score range.
//!
//! Everything here reproduces Redis 7.0's arithmetic step for step
//! (geohash.c, geohash_helper.c): the same ranges (latitude is clipped to
//! ±85.05112878, Web Mercator's limit), the same order of floating point
//! operations, the same libm calls, so coordinates and distances come out
//! bit for bit equal and print identically. Scores that no GEOADD wrote
//! are decoded as Redis's x86-64 build decodes them (see [`c_double_to_u64`]).

use std::f64::consts::PI;

pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Bits per coordinate of a stored point.
pub const STEP_MAX: u8 = 26;

/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A cell: `step` bits per coordinate, interleaved in `bits` (latitude in
/// the even positions, longitude in the odd ones). Redis's "zero" cell
/// (bits and step both 0) marks a neighbour excluded from a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

impl Cell {
    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The 52-bit score range `[min, max)` holding every point in the cell.
    pub fn score_range(self) -> (f64, f64) {
        let shift = 52 - u32::from(self.step) * 2;
        let min = self.bits << shift;
        let max = (self.bits + 1) << shift;
        (min as f64, max as f64)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Range {
    min: f64,
    max: f64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Area {
    lon: Range,
    lat: Range,
}

const WGS84_LON: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// `lat` bits in the even positions, `lon` bits in the odd ones.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

fn encode_in(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_offset = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Some(Cell {
        bits: interleave(lat_offset as u32, lon_offset as u32),
        step,
    })
}

/// The cell of `step` bits holding (lon, lat), or `None` outside the
/// indexable area.
pub fn encode(lon: f64, lat: f64, step: u8) -> Option<Cell> {
    encode_in(WGS84_LON, WGS84_LAT, lon, lat, step)
}

/// The score GEOADD stores for a point.
pub fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode(lon, lat, STEP_MAX).map(|c| c.bits << (52 - 2 * u32::from(STEP_MAX)))
}

fn decode_area(cell: Cell) -> Area {
    let lat_bits = squash(cell.bits);
    let lon_bits = squash(cell.bits >> 1);
    let div = (1u64 << cell.step) as f64;
    let lat_scale = WGS84_LAT.max - WGS84_LAT.min;
    let lon_scale = WGS84_LON.max - WGS84_LON.min;
    // C adds 1 to a uint32_t: it wraps.
    let edge = |v: u32, r: Range, scale: f64| Range {
        min: r.min + (f64::from(v) * 1.0 / div) * scale,
        max: r.min + (f64::from(v.wrapping_add(1)) * 1.0 / div) * scale,
    };
    Area {
        lat: edge(lat_bits, WGS84_LAT, lat_scale),
        lon: edge(lon_bits, WGS84_LON, lon_scale),
    }
}

/// C's `(uint64_t)d` as gcc compiles it for x86-64 (no AVX-512): values
/// from 2^63 have 2^63 taken off before the signed conversion, and a value
/// the signed conversion cannot represent becomes 2^63. Redis casts any
/// score this way, so a score no GEOADD wrote (ZADD of -1 or 1e300) decodes
/// to the coordinates Redis prints for it.
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let signed = |v: f64| -> u64 {
        if v > -TWO_63 - 1.0 && v < TWO_63 {
            v as i64 as u64
        } else {
            1 << 63
        }
    };
    if d >= TWO_63 {
        signed(d - TWO_63) ^ (1 << 63)
    } else {
        signed(d)
    }
}

/// C's `(long long)d` on x86-64: out of range (or NaN) is `i64::MIN`.
pub fn c_double_to_i64(d: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d > -TWO_63 - 1.0 && d < TWO_63 {
        d as i64
    } else {
        i64::MIN
    }
}

/// The (longitude, latitude) a score stands for: the centre of its cell,
/// clamped to the indexable area.
pub fn decode_score(score: f64) -> (f64, f64) {
    let area = decode_area(Cell {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    });
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The 11-character standard geohash (latitude over ±90) GEOHASH prints.
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let bits = encode_in(
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        STEP_MAX,
    )
    .map_or(0, |c| c.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Bits of the longitude (odd positions) and of the latitude (even ones).
const LON_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

/// Moves `cell` one cell along the coordinate whose bits are `mine` (the
/// other's are `other`): `d` > 0 adds one to it, `d` < 0 takes one off,
/// wrapping around (Redis's `geohash_move_x`/`geohash_move_y`).
fn move_along(cell: &mut Cell, d: i8, mine: u64, other: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(cell.step) * 2;
    let mut v = cell.bits & mine;
    let rest = cell.bits & other;
    let zz = other >> shift;
    if d > 0 {
        v = v.wrapping_add(zz + 1);
    } else {
        v |= zz;
        v = v.wrapping_sub(zz + 1);
    }
    v &= mine >> shift;
    cell.bits = v | rest;
}

fn moved(cell: Cell, dx: i8, dy: i8) -> Cell {
    let mut c = cell;
    move_along(&mut c, dx, LON_BITS, LAT_BITS);
    move_along(&mut c, dy, LAT_BITS, LON_BITS);
    c
}

/// What a search covers, in the units of its request.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search: the centre, the shape, and the unit's size in metres.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub to_meters: f64,
}

/// Redis's estimate of the cell size (bits per coordinate) whose 3×3
/// block covers a search of `range_meters` at latitude `lat`.
fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Search {
    /// [min lon, min lat, max lon, max lat] of the search.
    fn bounds(&self) -> [f64; 4] {
        let (height, width) = match self.shape {
            Shape::Radius(r) => (self.to_meters * r, self.to_meters * r),
            Shape::Box { width, height } => (
                self.to_meters * (height / 2.0),
                self.to_meters * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let d = if self.lat < 0.0 { bottom } else { top };
        [
            self.lon - d,
            self.lat - lat_delta,
            self.lon + d,
            self.lat + lat_delta,
        ]
    }

    /// The nine cells to scan, in Redis's order (centre, N, S, E, W, NE,
    /// NW, SE, SW); a zero cell is one Redis leaves out.
    pub fn cells(&self) -> [Cell; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius_meters = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.to_meters;
        let mut steps = estimate_steps(radius_meters, self.lat);
        let around = |steps: u8| {
            let hash = encode(self.lon, self.lat, steps).unwrap_or(Cell {
                bits: 0,
                step: steps,
            });
            [
                hash,
                moved(hash, 0, 1),
                moved(hash, 0, -1),
                moved(hash, 1, 0),
                moved(hash, -1, 0),
                moved(hash, 1, 1),
                moved(hash, -1, 1),
                moved(hash, 1, -1),
                moved(hash, -1, -1),
            ]
        };
        let mut n = around(steps);
        let too_small = decode_area(n[1]).lat.max < max_lat
            || decode_area(n[2]).lat.min > min_lat
            || decode_area(n[3]).lon.max < max_lon
            || decode_area(n[4]).lon.min > min_lon;
        if steps > 1 && too_small {
            steps -= 1;
            n = around(steps);
        }
        if steps >= 2 {
            // Neighbours on a side the search does not reach past the
            // centre cell are left out (S, SE, SW; N, NE, NW; W...; E...).
            let area = decode_area(n[0]);
            let sides = [
                (area.lat.min < min_lat, [2, 7, 8]),
                (area.lat.max > max_lat, [1, 5, 6]),
                (area.lon.min < min_lon, [4, 8, 6]),
                (area.lon.max > max_lon, [3, 7, 5]),
            ];
            for (beyond, cells) in sides {
                if beyond {
                    for i in cells {
                        n[i] = Cell::default();
                    }
                }
            }
        }
        n
    }

    /// The point's distance from the centre in metres, if it lies in the
    /// search (Redis's `geoWithinShape`).
    pub fn within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.to_meters).then_some(d)
            }
            Shape::Box { width, height } => {
                let (width_m, height_m) = (width * self.to_meters, height * self.to_meters);
                if lat_distance(lat, self.lat) > height_m / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width_m / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The haversine distance in metres, computed as Redis computes it.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// A distance as Redis prints it: rounded (half to even, `llrint`) to four
/// decimals.
pub fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let scaled = d * 10000.0;
    let v = if scaled.is_finite() && scaled.abs() < 9.2e18 {
        scaled.round_ties_even() as i64
    } else {
        i64::MIN
    };
    let (sign, abs) = if v < 0 {
        ("-", v.unsigned_abs())
    } else {
        ("", v as u64)
    };
    format!("{sign}{}.{:04}", abs / 10000, abs % 10000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palermo_round_trips_as_redis_prints_it() {
        let score = score_of(13.361389, 38.115556).unwrap();
        assert_eq!(score, 3479099956230698);
        let (lon, lat) = decode_score(score as f64);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&geohash_string(score as f64), b"sqc8b49rny0");
    }

    #[test]
    fn distances_match_redis() {
        let p = decode_score(3479099956230698.0);
        let c = decode_score(score_of(15.087269, 37.502669).unwrap() as f64);
        assert_eq!(
            format_distance(distance(p.0, p.1, c.0, c.1) / 1000.0),
            "166.2742"
        );
    }

    #[test]
    fn c_casts() {
        assert_eq!(c_double_to_u64(1e300), 0);
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_double_to_i64(1e300), i64::MIN);
    }
}
