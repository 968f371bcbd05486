//! Geo commands (Redis's `geo.c`): points are sorted set members whose
//! score is a 52-bit geohash ([`crate::store::geohash`]).
//!
//! A search scans the cell holding the centre and its eight neighbours as
//! nine score ranges of the sorted set, keeps the points inside the shape,
//! then sorts and trims them, in Redis's order throughout, so unsorted
//! replies list points as Redis lists them. GEOADD is ZADD with computed
//! scores and propagates as that ZADD, as Redis does.

use super::flags::*;
use super::zsets::{self, as_zset, collect, per_member};
use super::{double_arg, int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::ldouble::LongDouble;
use crate::resp::{Args, Proto, Reply};
use crate::store::geohash::{self, Search, Shape};
use crate::store::{Bytes, Value, ZSet};

pub const COMMANDS: &[Command] = &[
    Command::new("geoadd", -5, WRITE | DENYOOM, geoadd)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set")
        .complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    Command::new("geodist", -4, READONLY, geodist)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Returns the distance between two members of a geospatial index")
        .complexity("O(log(N))"),
    Command::new("geohash", -2, READONLY, geohash)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Returns members of a geospatial index as standard geohash strings")
        .complexity("O(log(N)) for each member requested, where N is the number of elements in the sorted set."),
    Command::new("geopos", -2, READONLY, geopos)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Returns longitude and latitude of members of a geospatial index")
        .complexity("O(N) where N is the number of members requested."),
    Command::new("georadius", -6, WRITE | DENYOOM, georadius)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    Command::new("georadius_ro", -6, READONLY, georadius_ro)
        .keys(1, 1, 1)
        .doc("geo", "3.2.10", "A read-only variant for GEORADIUS")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    Command::new("georadiusbymember", -5, WRITE | DENYOOM, georadiusbymember)
        .keys(1, 1, 1)
        .doc("geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    Command::new("georadiusbymember_ro", -5, READONLY, georadiusbymember_ro)
        .keys(1, 1, 1)
        .doc("geo", "3.2.10", "A read-only variant for GEORADIUSBYMEMBER")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    Command::new("geosearch", -7, READONLY, geosearch)
        .keys(1, 1, 1)
        .doc("geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.")
        .complexity("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
    Command::new("geosearchstore", -8, WRITE | DENYOOM, geosearchstore)
        .keys(1, 2, 1)
        .doc("geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.")
        .complexity("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
];

/// A longitude, latitude pair inside the indexable area.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = double_arg(lon).ok_or(CmdError::NotFloat)?;
    let lat = double_arg(lat).ok_or(CmdError::NotFloat)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::geo_invalid_pair(lon, lat));
    }
    Ok((lon, lat))
}

/// A unit's size in metres.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    if is(arg, "m") {
        Ok(1.0)
    } else if is(arg, "km") {
        Ok(1000.0)
    } else if is(arg, "ft") {
        Ok(0.3048)
    } else if is(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::GeoUnit)
    }
}

/// `<radius> <unit>`: the radius and the unit's size.
fn radius(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = double_arg(r).ok_or(CmdError::GeoNeedRadius)?;
    if r < 0.0 {
        return Err(CmdError::GeoRadiusNegative);
    }
    Ok((r, unit(u)?))
}

/// A coordinate as Redis prints it (`%.17Lf`, trimmed): a bulk string in
/// RESP2, a double in RESP3.
fn coord(out: &mut Reply, v: f64) {
    let text = LongDouble::from_f64(v).to_human().unwrap_or_default();
    match out.proto {
        Proto::Resp2 => out.bulk(&text),
        Proto::Resp3 => {
            out.buf.push(b',');
            out.buf.extend_from_slice(&text);
            out.buf.extend_from_slice(b"\r\n");
        }
    }
}

fn geoadd(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while at < args.len() {
        let opt = args.get(at);
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if !is(opt, "ch") {
            break;
        }
        at += 1;
    }
    let rest = args.len() - at;
    if !rest.is_multiple_of(3) || nx && xx || rest == 0 {
        return Err(CmdError::Syntax);
    }
    let scores = (at..args.len())
        .step_by(3)
        .map(|i| {
            let (lon, lat) = lon_lat(args.get(i), args.get(i + 1))?;
            Ok(geohash::score_of(lon, lat).unwrap_or(0))
        })
        .collect::<Result<Vec<u64>, CmdError>>()?;
    // Redis runs GEOADD as the ZADD it builds (key, options, then score
    // and member pairs), and propagates that ZADD.
    let texts: Vec<String> = scores.iter().map(u64::to_string).collect();
    let mut zadd: Vec<&[u8]> = vec![b"zadd"];
    zadd.extend(args.iter().skip(1).take(at - 1));
    for (j, text) in texts.iter().enumerate() {
        zadd.push(text.as_bytes());
        zadd.push(args.get(at + 2 + 3 * j));
    }
    let (base, spans) = encode_args(&zadd);
    let zargs = Args::new(&base, &spans);
    let before = ctx.journal().total_changes();
    zsets::add(ctx, zargs, false)?;
    if ctx.journal().total_changes() > before {
        ctx.journal().rewrite(zargs.iter());
    }
    Ok(())
}

/// Arguments laid out as [`Args`] reads them: one buffer and the span of
/// each argument in it.
fn encode_args(argv: &[&[u8]]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut base = Vec::with_capacity(argv.iter().map(|a| a.len()).sum());
    let spans = argv
        .iter()
        .map(|a| {
            base.extend_from_slice(a);
            base.len() - a.len()..base.len()
        })
        .collect();
    (base, spans)
}

fn geodist(ctx: &mut Ctx, args: Args) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit(args.get(4))?,
        _ => return Err(CmdError::Syntax),
    };
    let (value, out) = ctx.read(args.get(1));
    let Some(z) = as_zset(value)? else {
        out.null();
        return Ok(());
    };
    match (z.score(args.get(2)), z.score(args.get(3))) {
        (Some(a), Some(b)) => {
            let (lon1, lat1) = geohash::decode_score(a);
            let (lon2, lat2) = geohash::decode_score(b);
            let d = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
            out.bulk(geohash::format_distance(d).as_bytes());
        }
        _ => out.null(),
    }
    Ok(())
}

fn geohash(ctx: &mut Ctx, args: Args) -> CmdResult {
    per_member(
        ctx,
        args,
        |out, score| out.bulk(&geohash::geohash_string(score)),
        Reply::null,
    )
}

fn geopos(ctx: &mut Ctx, args: Args) -> CmdResult {
    let position = |out: &mut Reply, score| {
        let (lon, lat) = geohash::decode_score(score);
        out.array(2);
        coord(out, lon);
        coord(out, lat);
    };
    per_member(ctx, args, position, Reply::null_array)
}

/// Which search command runs (Redis's `georadiusGeneric` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS: centre and radius are the first arguments.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER: a member and a radius.
    Member { store: bool },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

impl Form {
    fn takes_store(self) -> bool {
        matches!(
            self,
            Form::Coords { store: true } | Form::Member { store: true }
        )
    }

    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }
}

fn georadius(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::Coords { store: true })
}

fn georadius_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::Coords { store: false })
}

fn georadiusbymember(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::Member { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::Member { store: false })
}

fn geosearch(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::Search)
}

fn geosearchstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    search(ctx, args, Form::SearchStore)
}

/// A point found by a search.
struct Found<'a> {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: &'a Bytes,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// The centre's position of `member` in `z`.
fn member_position(z: &ZSet, member: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(member)
        .map(geohash::decode_score)
        .ok_or(CmdError::GeoMemberUndecodable)
}

/// Appends the points of the score range `[min, max)` inside the search,
/// stopping once `limit` (if not 0) points are held (Redis's
/// `geoGetPointsInRange`).
fn points_in_range<'a>(
    z: &'a ZSet,
    min: f64,
    max: f64,
    s: &Search,
    found: &mut Vec<Found<'a>>,
    limit: usize,
) {
    let first = z.count_while(|i| i.score < min);
    for item in z.iter_from(first) {
        if item.score >= max {
            break;
        }
        let (lon, lat) = geohash::decode_score(item.score);
        if let Some(dist) = s.within(lon, lat) {
            found.push(Found {
                lon,
                lat,
                dist,
                score: item.score,
                member: &item.member,
            });
        }
        if !found.is_empty() && limit != 0 && found.len() >= limit {
            break;
        }
    }
}

/// The points of the nine cells around the centre inside the search
/// (Redis's `membersOfAllNeighbors`, duplicate-cell skipping included).
fn collect_points<'a>(z: &'a ZSet, s: &Search, limit: usize) -> Vec<Found<'a>> {
    let cells = s.cells();
    let mut found = Vec::new();
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if !found.is_empty() && limit != 0 && found.len() >= limit {
            break;
        }
        let (min, max) = cell.score_range();
        points_in_range(z, min, max, s, &mut found, limit);
        last = i;
    }
    found
}

/// GEORADIUS, GEORADIUSBYMEMBER, their `_RO` forms, GEOSEARCH and
/// GEOSEARCHSTORE: Redis's `georadiusGeneric`, checks in its order.
fn search(ctx: &mut Ctx, args: Args, form: Form) -> CmdResult {
    let src_at = if form == Form::SearchStore { 2 } else { 1 };
    let mut store: Option<&[u8]> = (form == Form::SearchStore).then(|| args.get(1));
    let mut store_dist = false;
    let (mut db, out) = ctx.db_out();
    let z = as_zset(db.read(args.get(src_at)))?;
    let mut centre = (0.0, 0.0);
    let mut shape = Shape::Radius(0.0);
    let mut to_meters = 0.0;
    let base = match form {
        Form::Coords { .. } => {
            centre = lon_lat(args.get(2), args.get(3))?;
            let (r, u) = radius(args.get(4), args.get(5))?;
            (shape, to_meters) = (Shape::Radius(r), u);
            6
        }
        Form::Member { .. } => {
            if let Some(z) = z {
                centre = member_position(z, args.get(2))?;
                let (r, u) = radius(args.get(3), args.get(4))?;
                (shape, to_meters) = (Shape::Radius(r), u);
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => 3,
    };
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut from_member, mut from_loc, mut by_radius, mut by_box) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count = 0usize;
    let search_form = form.is_search();
    let mut i = base;
    while i < args.len() {
        let arg = args.get(i);
        let left = args.len() - i - 1;
        if is(arg, "withdist") {
            withdist = true;
        } else if is(arg, "withhash") {
            withhash = true;
        } else if is(arg, "withcoord") {
            withcoord = true;
        } else if is(arg, "any") {
            any = true;
        } else if is(arg, "asc") {
            sort = Sort::Asc;
        } else if is(arg, "desc") {
            sort = Sort::Desc;
        } else if is(arg, "count") && left >= 1 {
            let n = int_arg(args.get(i + 1))?;
            if n <= 0 {
                return Err(CmdError::GeoCountPositive);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (is(arg, "store") || is(arg, "storedist")) && left >= 1 && form.takes_store() {
            store = Some(args.get(i + 1));
            store_dist = is(arg, "storedist");
            i += 1;
        } else if is(arg, "storedist") && form == Form::SearchStore {
            store_dist = true;
        } else if is(arg, "frommember") && left >= 1 && search_form && !from_loc {
            if let Some(z) = z {
                centre = member_position(z, args.get(i + 1))?;
            }
            from_member = true;
            i += 1;
        } else if is(arg, "fromlonlat") && left >= 2 && search_form && !from_member {
            centre = lon_lat(args.get(i + 1), args.get(i + 2))?;
            from_loc = true;
            i += 2;
        } else if is(arg, "byradius") && left >= 2 && search_form && !by_box {
            let (r, u) = radius(args.get(i + 1), args.get(i + 2))?;
            (shape, to_meters) = (Shape::Radius(r), u);
            by_radius = true;
            i += 2;
        } else if is(arg, "bybox") && left >= 3 && search_form && !by_radius {
            let width = double_arg(args.get(i + 1)).ok_or(CmdError::GeoNeedWidth)?;
            let height = double_arg(args.get(i + 2)).ok_or(CmdError::GeoNeedHeight)?;
            if height < 0.0 || width < 0.0 {
                return Err(CmdError::GeoBoxNegative);
            }
            to_meters = unit(args.get(i + 3))?;
            shape = Shape::Box { width, height };
            by_box = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        return Err(CmdError::geo_store_with(form == Form::SearchStore));
    }
    if search_form && !(from_member || from_loc) {
        return Err(CmdError::geo_exactly_one(true, args.get(0)));
    }
    if search_form && !(by_radius || by_box) {
        return Err(CmdError::geo_exactly_one(false, args.get(0)));
    }
    if any && count == 0 {
        return Err(CmdError::GeoAnyWithoutCount);
    }
    let Some(z) = z else {
        match store {
            Some(dst) => {
                db.delete(dst);
                out.int(0);
            }
            None => out.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let s = Search {
        lon: centre.0,
        lat: centre.1,
        shape,
        to_meters,
    };
    let mut found = collect_points(z, &s, if any { count } else { 0 });
    if found.is_empty() && store.is_none() {
        out.array(0);
        return Ok(());
    }
    let returned = if count == 0 {
        found.len()
    } else {
        found.len().min(count)
    };
    match sort {
        Sort::None => {}
        Sort::Asc => found.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => found.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
    }
    found.truncate(returned);
    let Some(dst) = store else {
        let options = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
        out.array(returned);
        for p in &found {
            if options > 0 {
                out.array(options + 1);
            }
            out.bulk(p.member);
            if withdist {
                out.bulk(geohash::format_distance(p.dist / to_meters).as_bytes());
            }
            if withhash {
                out.int(geohash::c_double_to_i64(p.score));
            }
            if withcoord {
                out.array(2);
                coord(out, p.lon);
                coord(out, p.lat);
            }
        }
        return Ok(());
    };
    let result = collect(found.iter().map(|p| {
        let score = if store_dist {
            p.dist / to_meters
        } else {
            p.score
        };
        (&p.member[..], score)
    }));
    if returned > 0 {
        let name = if search_form {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        db.set_counted(dst, Value::Zset(Box::new(result)), name, returned as u64);
    } else {
        db.delete(dst);
    }
    out.int(returned as i64);
    Ok(())
}
