//! What travels between nodes and what goes into log entries.
//!
//! raft-rs speaks rust-protobuf [`eraftpb::Message`]s, which are `Clone + Debug` but not `Hash`:
//! [`Msg`] wraps one and hashes every field by hand (faultline digests each message into the
//! trace hash, so a field left out would let two diverging runs look alike). Client commands
//! ride in entry data (and read-index contexts) in a fixed little-endian layout decoded by
//! [`decode`], which rejects anything malformed instead of panicking.

use faultline_kv::KvCmd;
use faultline_sim::prelude::RequestId;
use raft::eraftpb::{self, Entry};
use std::hash::{Hash, Hasher};

/// A raft-rs message between two nodes. Boxed: a protobuf `Message` is about 200 bytes, and the
/// simulator moves messages through its event queue by value.
#[derive(Clone, Debug)]
pub struct Msg(pub Box<eraftpb::Message>);

fn hash_entry<H: Hasher>(e: &Entry, h: &mut H) {
    (e.entry_type as i32, e.term, e.index, &e.data[..], &e.context[..], e.sync_log).hash(h);
}

impl Hash for Msg {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let m = &self.0;
        (m.msg_type as i32, m.to, m.from, m.term, m.log_term, m.index, m.commit, m.commit_term).hash(h);
        (m.request_snapshot, m.reject, m.reject_hint, &m.context[..], m.deprecated_priority, m.priority).hash(h);
        m.entries.len().hash(h);
        for e in m.entries.iter() {
            hash_entry(e, h);
        }
        match m.snapshot.as_ref() {
            Some(s) => {
                let md = s.get_metadata();
                (1u8, md.index, md.term, &s.data[..]).hash(h);
            }
            None => 0u8.hash(h),
        }
    }
}

/// Length of an encoded command: client, seq, tag, key, two values.
const ENCODED: usize = 4 + 4 + 1 + 1 + 4 + 4;

/// Encodes request `req` carrying `cmd` (entry data, or a read-index context).
pub fn encode(req: RequestId, cmd: &KvCmd) -> Vec<u8> {
    let (tag, key, a, b) = match *cmd {
        KvCmd::Get { key } => (0u8, key, 0, 0),
        KvCmd::Put { key, value } => (1, key, value, 0),
        KvCmd::Append { key, value } => (2, key, value, 0),
        KvCmd::Cas { key, expected, new } => (3, key, expected, new),
    };
    let mut v = Vec::with_capacity(ENCODED);
    v.extend_from_slice(&req.client.to_le_bytes());
    v.extend_from_slice(&req.seq.to_le_bytes());
    v.push(tag);
    v.push(key);
    v.extend_from_slice(&a.to_le_bytes());
    v.extend_from_slice(&b.to_le_bytes());
    v
}

/// Decodes what [`encode`] wrote; `None` for anything else (an empty no-op entry included).
pub fn decode(data: &[u8]) -> Option<(RequestId, KvCmd)> {
    if data.len() != ENCODED {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let req = RequestId { client: u32_at(0), seq: u32_at(4) };
    let key = data[9];
    let (a, b) = (u32_at(10), u32_at(14));
    let cmd = match data[8] {
        0 => KvCmd::Get { key },
        1 => KvCmd::Put { key, value: a },
        2 => KvCmd::Append { key, value: a },
        3 => KvCmd::Cas { key, expected: a, new: b },
        _ => return None,
    };
    Some((req, cmd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::hash::StableHasher;

    #[test]
    fn commands_round_trip_and_garbage_is_rejected() {
        let req = RequestId { client: 7, seq: 300 };
        for cmd in [
            KvCmd::Get { key: 2 },
            KvCmd::Put { key: 1, value: 9 },
            KvCmd::Append { key: 0, value: 123_456 },
            KvCmd::Cas { key: 2, expected: 1, new: 3 },
        ] {
            assert_eq!(decode(&encode(req, &cmd)), Some((req, cmd)));
        }
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[1, 2, 3]), None);
        let mut bad = encode(req, &KvCmd::Get { key: 0 });
        bad[8] = 9;
        assert_eq!(decode(&bad), None);
    }

    #[test]
    fn the_hash_covers_entries_and_fields() {
        let mut m = eraftpb::Message { term: 3, index: 4, ..Default::default() };
        let a = StableHasher::digest(&Msg(Box::new(m.clone())));
        m.entries.push(Entry { index: 5, term: 3, data: vec![1u8].into(), ..Default::default() });
        let b = StableHasher::digest(&Msg(Box::new(m.clone())));
        m.entries[0].data = vec![2u8].into();
        let c = StableHasher::digest(&Msg(Box::new(m.clone())));
        m.reject = true;
        let d = StableHasher::digest(&Msg(Box::new(m)));
        assert!(a != b && b != c && c != d);
    }
}
