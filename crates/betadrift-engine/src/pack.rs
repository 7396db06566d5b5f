//! Object reads straight from a repository's pack files and loose objects.
//!
//! `status` and `check` read the trees of thousands of upstream commits.
//! Through libgit2 each read takes a process-wide lock twice (two scanning
//! threads wait on each other), allocates, and finds the object with a
//! binary search of the pack index: on operations/puppet (1.4 million
//! objects, a 38 MiB index) that search is a dozen cache and TLB misses
//! per object, a fifth of `status`'s time. This reader maps the packs once
//! per process, finds an object by interpolation (object ids are uniform,
//! so two or three probes), and keeps the delta bases it rebuilt in a
//! cache per thread.
//!
//! An object it does not find (not in a pack it mapped, not loose) or a
//! pack it cannot map (a format it does not know) is absent, and the caller
//! reads it through libgit2. An object it finds but cannot read (a damaged
//! index offset, a CRC that does not match, a truncated loose file, a
//! broken delta) is [`Corrupt`], naming the object's file: that is the
//! answer, as it is git's, never a reason to try libgit2's reader, which
//! crashes on a corrupt index offset and spins on a truncated loose object.
//!
//! It maps every `objects/pack/*.idx`. A multi-pack-index (what git's
//! incremental-repack maintenance and `repack --write-midx` write) indexes
//! packs that keep their own `.idx` files, so the reader needs none of it;
//! cruft packs are ordinary packs. `tests/cli/pack.rs` reads repositories
//! with both. The number of packs stays small because betadrift runs git's
//! automatic maintenance after each rewrite.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

use flate2::{Decompress, FlushDecompress, Status};
use git2::ObjectType;
use memmap2::Mmap;

/// An object read from the store: its type and body.
pub type Object = (ObjectType, Rc<[u8]>);

/// An object the reader found and could not read: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// The pack (or index) or loose file that holds the object.
    pub file: PathBuf,
    pub why: &'static str,
}

/// Larger objects are left to libgit2 (a corrupt size must not allocate).
const MAX_OBJECT: usize = 1 << 30;
/// Longer delta chains are left to libgit2 (git writes at most 4,095).
const MAX_CHAIN: usize = 10_000;
/// Bytes of rebuilt objects kept per thread for later deltas against them.
/// More costs more in page faults than it saves in inflating (measured on
/// operations/puppet: 8 MiB against 1, 4, 16 and 32).
const CACHE_BYTES: usize = 8 << 20;
/// How deep `objects/info/alternates` is followed, as git does.
const MAX_ALTERNATE_DEPTH: usize = 5;

/// The packs and loose-object directories of one repository (with its
/// alternates), mapped once per process and shared by threads.
#[derive(Debug)]
pub struct Store {
    packs: Vec<Pack>,
    loose: Vec<PathBuf>,
}

#[derive(Debug)]
struct Pack {
    idx: Mmap,
    data: Mmap,
    count: usize,
    /// The `.pack` file, named in errors.
    path: PathBuf,
}

impl Store {
    /// The store of the objects directory `objects`, shared with every
    /// other reader of it in this process.
    pub fn shared(objects: &Path) -> Arc<Store> {
        static STORES: OnceLock<Mutex<HashMap<PathBuf, Arc<Store>>>> = OnceLock::new();
        let mut stores = STORES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(stores.entry(objects.to_owned()).or_insert_with(|| Arc::new(Store::open(objects))))
    }

    /// Maps the packs of `objects` and of its alternates. Packs that cannot
    /// be mapped or have an unknown format are skipped (libgit2 reads them).
    pub fn open(objects: &Path) -> Store {
        let mut store = Store { packs: Vec::new(), loose: Vec::new() };
        store.add(objects, 0);
        store
    }

    fn add(&mut self, objects: &Path, depth: usize) {
        if depth > MAX_ALTERNATE_DEPTH || self.loose.iter().any(|d| d == objects) {
            return;
        }
        self.loose.push(objects.to_owned());
        if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
            let mut idx_files: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .collect();
            idx_files.sort();
            self.packs.extend(idx_files.iter().filter_map(|idx| Pack::open(idx)));
        }
        if let Ok(text) = std::fs::read_to_string(objects.join("info/alternates")) {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let alternate = objects.join(line);
                self.add(&alternate, depth + 1);
            }
        }
    }

    /// How many packs were mapped.
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }
}

/// Maps a file read-only.
fn map(path: &Path) -> Option<Mmap> {
    let file = File::open(path).ok()?;
    // SAFETY: pack and index files are never modified in place: git writes
    // a new file and renames it, and removes old ones by unlinking, which
    // leaves an existing mapping intact. Every read of the mapping is
    // bounds-checked, so a file truncated by someone else would be at
    // worst a SIGBUS, as it is for git and libgit2, which map them too.
    #[allow(unsafe_code)]
    unsafe {
        Mmap::map(&file).ok()
    }
}

impl Pack {
    /// Maps a version 2 index and its pack; `None` for anything else.
    fn open(idx_path: &Path) -> Option<Pack> {
        let idx = map(idx_path)?;
        if idx.len() < 8 + 256 * 4 + 40 || idx[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        let count = be32(&idx, 8 + 255 * 4)? as usize;
        // oids, CRCs, offsets, then large offsets and two checksums.
        if idx.len() < 8 + 1024 + count * 28 + 40 {
            return None;
        }
        let data = map(&idx_path.with_extension("pack"))?;
        if data.len() < 32 || &data[..4] != b"PACK" || !matches!(be32(&data, 4)?, 2 | 3) {
            return None;
        }
        Some(Pack { idx, data, count, path: idx_path.with_extension("pack") })
    }

    fn corrupt(&self, why: &'static str) -> Corrupt {
        Corrupt { file: self.path.clone(), why }
    }

    /// The offset in the pack of object `oid`, found by interpolation
    /// within its fan-out bucket, then by bisection.
    /// An index whose fan-out is out of order or points past its entries
    /// is corrupt.
    fn find(&self, oid: &[u8; 20]) -> Result<Option<(usize, u64)>, Corrupt> {
        let bad_index = || Corrupt { file: self.path.with_extension("idx"), why: "its index is damaged" };
        let first = usize::from(oid[0]);
        let fan = |i: usize| be32(&self.idx, 8 + i * 4).map(|n| n as usize);
        let lo = if first == 0 { 0 } else { fan(first - 1).ok_or_else(bad_index)? };
        let hi = fan(first).ok_or_else(bad_index)?; // exclusive
        if hi > self.count || lo > hi {
            return Err(bad_index());
        }
        let Some(i) = self.search(oid, lo, hi) else { return Ok(None) };
        Ok(Some((i, self.offset(i).ok_or_else(bad_index)?)))
    }

    /// The position of `oid` among entries [lo, hi): interpolation, then bisection.
    fn search(&self, oid: &[u8; 20], mut lo: usize, mut hi: usize) -> Option<usize> {
        let key = |i: usize| -> Option<&[u8]> { self.idx.get(8 + 1024 + i * 20..8 + 1024 + i * 20 + 20) };
        let want = u64::from_be_bytes(oid[1..9].try_into().ok()?);
        let mut probes = 0;
        while lo < hi {
            let mid = if probes < 3 && hi - lo > 8 {
                // Where `want` would lie if the ids of [lo, hi) were evenly
                // spread between their first and last.
                let low = u64::from_be_bytes(key(lo)?[1..9].try_into().ok()?);
                let high = u64::from_be_bytes(key(hi - 1)?[1..9].try_into().ok()?);
                if want <= low {
                    lo
                } else if want >= high {
                    hi - 1
                } else {
                    let span = (hi - 1 - lo) as u128;
                    lo + ((u128::from(want - low) * span) / u128::from(high - low)) as usize
                }
            } else {
                lo + (hi - lo) / 2
            };
            probes += 1;
            match key(mid)?.cmp(oid.as_slice()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The CRC-32 the index keeps of entry `i`'s bytes in the pack.
    fn crc(&self, i: usize) -> Option<u32> {
        be32(&self.idx, 8 + 1024 + self.count * 20 + i * 4)
    }

    fn offset(&self, i: usize) -> Option<u64> {
        let at = 8 + 1024 + self.count * 24 + i * 4;
        let small = be32(&self.idx, at)?;
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        let large_at = 8 + 1024 + self.count * 28 + (small & 0x7fff_ffff) as usize * 8;
        Some(u64::from_be_bytes(self.idx.get(large_at..large_at + 8)?.try_into().ok()?))
    }

    /// The entry header at `offset`: type, size, where its data starts, and
    /// for a delta where its base is.
    fn header(&self, offset: u64) -> Option<Header> {
        let data = &self.data[..self.data.len() - 20];
        let mut at = usize::try_from(offset).ok()?;
        let mut byte = *data.get(at)?;
        at += 1;
        let kind = (byte >> 4) & 7;
        let mut size = u64::from(byte & 15);
        let mut shift = 4;
        while byte & 0x80 != 0 {
            byte = *data.get(at)?;
            at += 1;
            if shift > 60 {
                return None;
            }
            size |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        let size = usize::try_from(size).ok().filter(|&s| s <= MAX_OBJECT)?;
        let base = match kind {
            1..=4 => Base::None,
            6 => {
                let mut byte = *data.get(at)?;
                at += 1;
                let mut back = u64::from(byte & 0x7f);
                while byte & 0x80 != 0 {
                    byte = *data.get(at)?;
                    at += 1;
                    back = back.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
                }
                Base::Offset(offset.checked_sub(back).filter(|_| back > 0)?)
            }
            7 => {
                let id: [u8; 20] = data.get(at..at + 20)?.try_into().ok()?;
                at += 20;
                Base::Id(id)
            }
            _ => return None,
        };
        Some(Header { kind, size, data: at, base })
    }
}

#[derive(Debug, Clone, Copy)]
struct Header {
    kind: u8,
    size: usize,
    /// Where the compressed data starts in the pack.
    data: usize,
    base: Base,
}

#[derive(Debug, Clone, Copy)]
enum Base {
    None,
    Offset(u64),
    Id([u8; 20]),
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn object_type(kind: u8) -> Option<ObjectType> {
    match kind {
        1 => Some(ObjectType::Commit),
        2 => Some(ObjectType::Tree),
        3 => Some(ObjectType::Blob),
        4 => Some(ObjectType::Tag),
        _ => None,
    }
}

/// An object rebuilt from pack `k` at some offset: its type, its body, and
/// where its entry ends in the pack. Cached by (pack, offset).
type Rebuilt = (u8, Rc<[u8]>, usize);

/// One thread's reader of a [`Store`], with its cache of rebuilt objects.
pub struct Reader {
    store: Arc<Store>,
    inflate: Decompress,
    cache: HashMap<(usize, u64), Rebuilt>,
    order: VecDeque<((usize, u64), usize)>,
    cached_bytes: usize,
    last_pack: usize,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("packs", &self.store.packs.len()).finish_non_exhaustive()
    }
}

impl Reader {
    pub fn new(store: Arc<Store>) -> Reader {
        Reader {
            store,
            inflate: Decompress::new(true),
            cache: HashMap::new(),
            order: VecDeque::new(),
            cached_bytes: 0,
            last_pack: 0,
        }
    }

    /// Object `oid`; `Ok(None)` when this reader does not have it (the
    /// caller then asks libgit2), [`Corrupt`] when it found it damaged (see
    /// the module's documentation).
    pub fn read(&mut self, oid: &[u8; 20]) -> Result<Option<Object>, Corrupt> {
        let n = self.store.packs.len();
        for k in (0..n).map(|k| (k + self.last_pack) % n) {
            let Some((i, offset)) = self.store.packs[k].find(oid)? else { continue };
            self.last_pack = k;
            let store = Arc::clone(&self.store);
            let pack = &store.packs[k];
            let (kind, body, end) = self.at(k, offset).ok_or_else(|| pack.corrupt("its entry cannot be read"))?;
            // The entry's bytes must be the ones the index recorded for
            // this id: a damaged offset or header is found here.
            let raw = usize::try_from(offset).ok().and_then(|start| pack.data.get(start..end));
            if raw.is_none_or(|raw| Some(crc32fast::hash(raw)) != pack.crc(i)) {
                return Err(pack.corrupt("its entry does not match the CRC in the index"));
            }
            let kind = object_type(kind).ok_or_else(|| pack.corrupt("its entry has an unknown type"))?;
            return Ok(Some((kind, body)));
        }
        self.loose(oid)
    }

    /// The object at `offset` of pack `k`, rebuilding deltas from the
    /// nearest cached or whole object of the chain; with where the entry
    /// at `offset` ends in the pack.
    fn at(&mut self, k: usize, offset: u64) -> Option<Rebuilt> {
        let store = Arc::clone(&self.store);
        let pack = &store.packs[k];
        let mut chain: Vec<(u64, Header)> = Vec::new();
        let mut at = offset;
        let (kind, mut body, mut end) = loop {
            if let Some(hit) = self.cache.get(&(k, at)) {
                break hit.clone();
            }
            let header = pack.header(at)?;
            match header.base {
                Base::None => {
                    let (body, end) = self.inflate_entry(pack, &header)?;
                    let body: Rc<[u8]> = body.into();
                    if !chain.is_empty() {
                        self.remember(k, at, (header.kind, Rc::clone(&body), end));
                    }
                    break (header.kind, body, end);
                }
                Base::Offset(base) => {
                    chain.push((at, header));
                    at = base;
                }
                // A base named by id: in this pack, as git writes them.
                Base::Id(id) => {
                    chain.push((at, header));
                    at = pack.find(&id).ok()??.1;
                }
            }
            if chain.len() > MAX_CHAIN {
                return None;
            }
        };
        while let Some((at, header)) = chain.pop() {
            let (delta, delta_end) = self.inflate_entry(pack, &header)?;
            body = apply_delta(&body, &delta)?.into();
            end = delta_end;
            self.remember(k, at, (kind, Rc::clone(&body), end));
        }
        Some((kind, body, end))
    }

    fn remember(&mut self, k: usize, offset: u64, entry: Rebuilt) {
        let body = &entry.1;
        if body.len() > CACHE_BYTES / 4 {
            return;
        }
        while self.cached_bytes + body.len() > CACHE_BYTES {
            let Some((key, len)) = self.order.pop_front() else { break };
            self.cache.remove(&key);
            self.cached_bytes -= len;
        }
        let len = body.len();
        if self.cache.insert((k, offset), entry).is_none() {
            self.order.push_back(((k, offset), len));
            self.cached_bytes += len;
        }
    }

    /// An entry's data, and where the entry ends in the pack.
    fn inflate_entry(&mut self, pack: &Pack, header: &Header) -> Option<(Vec<u8>, usize)> {
        let input = pack.data.get(header.data..pack.data.len() - 20)?;
        let body = inflate_exact(&mut self.inflate, input, header.size)?;
        Some((body, header.data + self.inflate.total_in() as usize))
    }

    /// A loose object: `objects/xx/yyyy…`, a zlib stream of
    /// "<type> <size>\0<body>".
    /// A file that is there and does not inflate to a well-formed object
    /// is [`Corrupt`].
    fn loose(&mut self, oid: &[u8; 20]) -> Result<Option<Object>, Corrupt> {
        let hex: String = oid.iter().map(|b| format!("{b:02x}")).collect();
        let store = Arc::clone(&self.store);
        for dir in &store.loose {
            let path = dir.join(&hex[..2]).join(&hex[2..]);
            let Ok(raw) = std::fs::read(&path) else { continue };
            let object = self.inflate_loose(&raw).map_err(|why| Corrupt { file: path, why })?;
            return Ok(Some(object));
        }
        Ok(None)
    }

    fn inflate_loose(&mut self, raw: &[u8]) -> Result<Object, &'static str> {
        const BAD_HEADER: &str = "it does not start with a valid object header";
        // The header first, to size the body exactly.
        let mut head = [0u8; 32];
        self.inflate.reset(true);
        self.inflate.decompress(raw, &mut head, FlushDecompress::None).map_err(|_| BAD_HEADER)?;
        let got = self.inflate.total_out() as usize;
        let nul = head[..got].iter().position(|&b| b == 0).ok_or(BAD_HEADER)?;
        let text = std::str::from_utf8(&head[..nul]).map_err(|_| BAD_HEADER)?;
        let (kind, size) = text.split_once(' ').ok_or(BAD_HEADER)?;
        let size: usize = size.parse().map_err(|_| BAD_HEADER)?;
        if size > MAX_OBJECT {
            return Err("it announces more than 1 GiB");
        }
        let kind = match kind {
            "commit" => ObjectType::Commit,
            "tree" => ObjectType::Tree,
            "blob" => ObjectType::Blob,
            "tag" => ObjectType::Tag,
            _ => return Err(BAD_HEADER),
        };
        let body = inflate_exact(&mut self.inflate, raw, nul + 1 + size)
            .ok_or("it is truncated or its data does not match its header")?;
        Ok((kind, body[nul + 1..].into()))
    }
}

/// Inflates a zlib stream that must hold exactly `size` bytes.
fn inflate_exact(z: &mut Decompress, input: &[u8], size: usize) -> Option<Vec<u8>> {
    z.reset(true);
    let mut out = vec![0u8; size];
    // One spare byte: a stream longer than announced must not pass.
    let mut spare = [0u8; 1];
    let status = z.decompress(input, &mut out, FlushDecompress::Finish).ok()?;
    if z.total_out() as usize != size {
        return None;
    }
    if status != Status::StreamEnd {
        let consumed = z.total_in() as usize;
        let status = z.decompress(input.get(consumed..)?, &mut spare, FlushDecompress::Finish).ok()?;
        if status != Status::StreamEnd || z.total_out() as usize != size {
            return None;
        }
    }
    Some(out)
}

/// Rebuilds an object from its base and a git delta.
fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    fn size(delta: &[u8], at: &mut usize) -> Option<usize> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = *delta.get(*at)?;
            *at += 1;
            if shift > 63 {
                return None;
            }
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
    }
    let mut at = 0;
    if size(delta, &mut at)? != base.len() {
        return None;
    }
    let target = size(delta, &mut at)?;
    if target > MAX_OBJECT {
        return None;
    }
    let mut out = Vec::with_capacity(target);
    while let Some(&op) = delta.get(at) {
        at += 1;
        if op & 0x80 != 0 {
            let mut copy_at = 0usize;
            let mut len = 0usize;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    copy_at |= usize::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    len |= usize::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(copy_at..copy_at.checked_add(len)?)?);
        } else if op != 0 {
            let len = usize::from(op);
            out.extend_from_slice(delta.get(at..at + len)?);
            at += len;
        } else {
            return None;
        }
        if out.len() > target {
            return None;
        }
    }
    (out.len() == target).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // source 12, target 11: copy 7 bytes at 0, insert "moon", ...
        let mut delta = vec![12, 11, 0x80 | 0x10, 7, 4];
        delta.extend_from_slice(b"moon");
        assert_eq!(apply_delta(base, &delta).unwrap(), b"hello, moon");
        // copy with an offset byte: "world" at 7
        assert_eq!(apply_delta(base, &[12, 5, 0x80 | 0x01 | 0x10, 7, 5]).unwrap(), b"world");
    }

    #[test]
    fn malformed_deltas_are_refused_not_guessed() {
        let base = b"hello, world";
        assert!(apply_delta(base, &[11, 5, 0x91, 7, 5]).is_none(), "wrong source size");
        assert!(apply_delta(base, &[12, 6, 0x91, 7, 5]).is_none(), "short of the target size");
        assert!(apply_delta(base, &[12, 5, 0x91, 10, 5]).is_none(), "copy past the base");
        assert!(apply_delta(base, &[12, 5, 0]).is_none(), "reserved opcode");
        assert!(apply_delta(base, &[12, 3, 5, b'a']).is_none(), "insert past the delta");
        assert!(apply_delta(base, &[12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_none());
    }
}
