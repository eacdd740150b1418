//! Directory CIDs Kubo v0.42.0 gives for generated trees (`ipfs add -r` with various options),
//! and the trees themselves.

use super::*;

pub(super) fn v0() -> ImportParams {
    ImportParams::default()
}

pub(super) fn v1() -> ImportParams {
    ImportParams::cid_v1()
}

pub(super) fn v2025() -> ImportParams {
    ImportParams::unixfs_v1_2025()
}

pub(super) type ParamsFn = fn() -> ImportParams;
/// Kubo's `added` lines: (path, CID).
pub(super) type AddedLines = &'static [(&'static str, &'static str)];
/// (`+` add, `-` remove, `=` replace with y; name; CID after the step).
pub(super) type EditSteps = &'static [(&'static str, &'static str, &'static str)];

/// One entry of a test tree, as the vector generator wrote it to disk for Kubo.
#[derive(Clone, Copy)]
pub(super) enum Item {
    /// A file and its content.
    F(&'static str, &'static [u8]),
    /// `count` files named `prefix` + the index zero-padded to `width`, same content.
    S(&'static str, usize, usize, &'static [u8]),
    /// A directory (path "" = the added directory itself) with mode and mtime.
    D(&'static str, Option<u32>, Option<(i64, u32)>),
    /// A symlink, its target and mtime.
    L(&'static str, &'static str, Option<(i64, u32)>),
}
pub(super) use Item::{D, F, L, S};

pub(super) struct Vector {
    pub(super) what: &'static str,
    /// How the CID was obtained from Kubo 0.42.0. Repos: `<def>` = `ipfs init
    /// --profile=test`; `<v1>` = `<def>` + `ipfs config profile apply unixfs-v1-2025`;
    /// `<k1>` = `<def>` + `ipfs config --json Import.UnixFSHAMTDirectorySizeThreshold
    /// '"1KiB"'`; `<k1b>` = `<k1>` + `ipfs config Import.UnixFSHAMTDirectorySizeEstimation
    /// block`. DIR is the tree below; `-w` trees are wrapped under the name in `wrap`.
    #[allow(dead_code)]
    pub(super) cmd: &'static str,
    pub(super) params: ParamsFn,
    pub(super) wrap: Option<&'static str>,
    pub(super) items: &'static [Item],
    pub(super) cid: &'static str,
}

pub(super) fn unix_time(time: Option<(i64, u32)>) -> Option<UnixTime> {
    time.map(|(seconds, nanos)| UnixTime {
        seconds,
        nanos: (nanos != 0).then_some(nanos),
    })
}

/// Builds a vector's tree the way Kubo's adder sees it.
pub(super) fn build_vector(vector: &Vector) -> TreeOutput {
    let params = (vector.params)();
    let mut store = MemStore::default();
    let mut builder = TreeBuilder::new();
    let full = |path: &str| match (vector.wrap, path) {
        (None, path) => path.to_string(),
        (Some(top), "") => top.to_string(),
        (Some(top), path) => format!("{top}/{path}"),
    };
    let metadata = |mode: Option<u32>, mtime: Option<(i64, u32)>| Metadata {
        mode: mode.filter(|_| params.preserve_mode),
        mtime: unix_time(mtime).filter(|_| params.preserve_mtime),
    };
    for item in vector.items {
        match *item {
            F(path, content) => builder
                .add_file(&full(path), file(content, &params))
                .unwrap(),
            S(prefix, count, width, content) => {
                for i in 0..count {
                    let path = full(&format!("{prefix}{i:0width$}"));
                    builder.add_file(&path, file(content, &params)).unwrap();
                }
            }
            D(path, mode, mtime) => {
                let path = full(path);
                if path.is_empty() {
                    builder.set_root_metadata(metadata(mode, mtime));
                } else {
                    builder.add_dir(&path, metadata(mode, mtime)).unwrap();
                }
            }
            L(path, target, mtime) => {
                let entry =
                    symlink_entry(target, &metadata(None, mtime), &params, &mut store).unwrap();
                builder.add_file(&full(path), entry).unwrap();
            }
        }
    }
    builder.finish(&params, &mut store).unwrap()
}

pub(super) const VECTORS: &[Vector] = &[
    Vector {
        what: "empty directory, CIDv0",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[],
        cid: "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
    },
    Vector {
        what: "empty directory, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[],
        cid: "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
    },
    Vector {
        what: "planets, CIDv0",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            F("mars.txt", b"Hello Mars!\x0a"),
            F("venus.txt", b"Hello Venus!\x0a"),
        ],
        cid: "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY",
    },
    Vector {
        what: "nested empty directories",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            D("a/b/c", None, None),
            D("a/d", None, None),
            D("e", None, None),
        ],
        cid: "QmV6i3geJRWH3zATHw5pxcqdvC3x7tbXFRRyhVBwdzEHab",
    },
    Vector {
        what: "nested empty directories, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[
            D("a/b/c", None, None),
            D("a/d", None, None),
            D("e", None, None),
        ],
        cid: "bafybeihgdp6dhqxcrctpfn4ohbue7ssy5kkjh4rv2rjrfmrzopk2dlmq4y",
    },
    Vector {
        what: "unicode names",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            F("ä", b"a-umlaut"),
            F("日本語.txt", b"nihongo"),
            F("emoji 😀", b"smile"),
            F("Ω/β", b"beta"),
            F("Ä", b"decomposed"),
            F("été", b"ete"),
        ],
        cid: "QmTRXmP6W9bx7TarQCyPJMRjBAXy1peDTFkHRXcshu8d8P",
    },
    Vector {
        what: "unicode names, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[
            F("ä", b"a-umlaut"),
            F("日本語.txt", b"nihongo"),
            F("emoji 😀", b"smile"),
            F("Ω/β", b"beta"),
            F("Ä", b"decomposed"),
            F("été", b"ete"),
        ],
        cid: "bafybeicuodiencvij7e47mcwmdakmyhfvkn6uzh353cn7stsaquv3qsne4",
    },
    Vector {
        what: "names sort bytewise (case, prefixes, punctuation)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            F("B", b"B"),
            F("b", b"b"),
            F("a.txt", b"a.txt"),
            F("a-b", b"a-b"),
            F("ä", b"\xc3\xa4"),
            F("_", b"_"),
            F("~", b"~"),
            F("a0", b"a0"),
            F("Z", b"Z"),
            F("ab", b"ab"),
            F("aB", b"aB"),
            F("a b", b"a b"),
            F("a\tb", b"a\x09b"),
            F("10", b"10"),
            F("9", b"9"),
            F("1", b"1"),
            F("a/x", b"x"),
            F("a/X", b"x"),
            F("a/xx", b"x"),
        ],
        cid: "QmNaB3PvYmhgDJvMKM8J1QMozRMnhjy9nfNLKp1fyVVWJj",
    },
    Vector {
        what: "names sort bytewise, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[
            F("B", b"B"),
            F("b", b"b"),
            F("a.txt", b"a.txt"),
            F("a-b", b"a-b"),
            F("ä", b"\xc3\xa4"),
            F("_", b"_"),
            F("~", b"~"),
            F("a0", b"a0"),
            F("Z", b"Z"),
            F("ab", b"ab"),
            F("aB", b"aB"),
            F("a b", b"a b"),
            F("a\tb", b"a\x09b"),
            F("10", b"10"),
            F("9", b"9"),
            F("1", b"1"),
            F("a/x", b"x"),
            F("a/X", b"x"),
            F("a/xx", b"x"),
        ],
        cid: "bafybeidqplgkevns7r33xa64d6u7eqjk7izwrvafbwirb4mwbltczjftge",
    },
    Vector {
        what: "1 entry",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[F("only", b"one")],
        cid: "QmTi7fFUA8vi5ovr2pVNw5UJKqGZJ17ki6bWudK2mUmjU8",
    },
    Vector {
        what: "1 entry, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[F("only", b"one")],
        cid: "bafybeidv3k3rulcmbmkbieyue7fv3ldjukbsebikdp7sig3gxzocffyzxe",
    },
    Vector {
        what: "10 entries",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("file", 10, 2, b"x")],
        cid: "QmZ8gc46v6JAzXUx1e6JBC66zLSSCYSbY5EJnW5oxqgshs",
    },
    Vector {
        what: "10 entries, CIDv1 dag-pb leaves",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 --raw-leaves=false DIR",
        params: || ImportParams {
            raw_leaves: false,
            ..v1()
        },
        wrap: None,
        items: &[S("file", 10, 2, b"x")],
        cid: "bafybeibtaqrbidxm3l6xqfjdpgj47qrpqux7odb5uoc5ftql3phtmixjm4",
    },
    Vector {
        what: "1000 entries",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("entry-", 1000, 4, b"x")],
        cid: "QmNf5C1ThgB93qZXcSisYn63xY6Gmv1vc2hwLZ7vmjF7XS",
    },
    Vector {
        what: "1000 entries, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[S("entry-", 1000, 4, b"x")],
        cid: "bafybeiduklexi36ny25xaxazvi66bg22jkp2coiybliyhhw7j5c7afqem4",
    },
    Vector {
        what: "1000 entries, unixfs-v1-2025",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("entry-", 1000, 4, b"x")],
        cid: "bafybeiduklexi36ny25xaxazvi66bg22jkp2coiybliyhhw7j5c7afqem4",
    },
    Vector {
        what: "links estimate exactly at threshold (plain)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("n", 4096, 29, b"x")],
        cid: "QmSxikv2j1A28j28Zv3twED1qfTKDmivapk5PkSykMSqpo",
    },
    Vector {
        what: "links estimate one byte over threshold (HAMT)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            S("n", 4095, 29, b"x"),
            F("n00000000000000000000000004095y", b"x"),
        ],
        cid: "QmUB4moyKJJCVcLM3U1hv3Vr1XoN1HJ1Lmdu4EkQaengtq",
    },
    Vector {
        what: "links estimate at threshold, CIDv1 (plain)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[S("n", 4096, 27, b"x")],
        cid: "bafybeidxijhalz4yunfmtbhy4fscwfmra44fzgctjofmje7dxvzd62vnja",
    },
    Vector {
        what: "links estimate one byte over, CIDv1 (HAMT)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[
            S("n", 4095, 27, b"x"),
            F("n000000000000000000000004095y", b"x"),
        ],
        cid: "bafybeihgq4lwqv5bqb6k5lgpuxvculu2nxqa6tiu3lxqs26cjfq2xivnz4",
    },
    Vector {
        what: "5957 entries under links estimation (plain)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("file-", 5957, 5, b"x")],
        cid: "QmUjpbgAtvRsDADuv54GmscCrwSmCHm7RKCBuwZNUmyncp",
    },
    Vector {
        what: "5958 entries under links estimation (HAMT)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("file-", 5958, 5, b"x")],
        cid: "QmW5idnhMPy4aWALofYXLdSrmf8hVuCiqQ1BbrGkTMGk9S",
    },
    Vector {
        what: "block estimate exactly at threshold (plain)",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("n", 4369, 15, b"x")],
        cid: "bafybeiegbewrp2it6vyqymma6eqgozpsuod3zxj6behn7wdv25bcjv6i7u",
    },
    Vector {
        what: "block estimate one byte over threshold (HAMT)",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("n", 4368, 15, b"x"), F("n000000000004368y", b"x")],
        cid: "bafybeidmw4g7b4ih74zxivyc6u6et6j7beyzopfafx5bm2bbyiuizycbfu",
    },
    Vector {
        what: "4854 entries under block estimation (plain)",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("file-", 4854, 5, b"x")],
        cid: "bafybeidge4k2xmzlpa4erbq3xnvtrqsmzabvzamsvwl6wiwckt27uzwaae",
    },
    Vector {
        what: "4855 entries under block estimation (HAMT)",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("file-", 4855, 5, b"x")],
        cid: "bafybeigs2ji42arnlbaula3no3tyg7hx7puq2gkeny7jbj7654nlx53ngi",
    },
    Vector {
        what: "4855 entries under links estimation with CIDv1 (plain)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[S("file-", 4855, 5, b"x")],
        cid: "bafybeifokhr4q4alfqoplkxarhzz5z6nr57mi7o3jnipj5oacutsu4ojju",
    },
    Vector {
        what: "HAMT with sub-shards, 10000 short names",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("", 10000, 1, b"x")],
        cid: "QmUuKFVG4PvPESFyApmT8thspchEZC9TDKK9ukRSYx21tF",
    },
    Vector {
        what: "HAMT with sub-shards, 10000 short names, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[S("", 10000, 1, b"x")],
        cid: "bafybeih5wzpuq6m4vm5jwj4r2be2rrujy443wimtsdg6p45pvgn5bi643m",
    },
    Vector {
        what: "HAMT with sub-shards, unixfs-v1-2025",
        cmd: "IPFS_PATH=<v1> ipfs add -r --only-hash DIR",
        params: || v2025(),
        wrap: None,
        items: &[S("", 12000, 1, b"x")],
        cid: "bafybeifjoc2rmba3xkeit2vaegzrnfnatjshi5t6pnkpdhq7blp6nxo4fi",
    },
    Vector {
        what: "HAMT with three levels (70000 names)",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[S("", 70000, 1, b"x")],
        cid: "QmeoJVf7Wn3NbF2SYVpJV3HvRx2QG5BSWoKKGxfCGeMWbV",
    },
    Vector {
        what: "1 KiB threshold: 27 entries (plain)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 27, 2, b"x")],
        cid: "QmSuycE1zHZ8MC9EDfrW9pgqux4ewU1RkZA5QBAkr1k7Cs",
    },
    Vector {
        what: "1 KiB threshold: 28 entries (HAMT)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 28, 2, b"x")],
        cid: "QmYRoSRhk4aFCXoeDyd79d77ZUQ55pGuTskVYmLjknePdg",
    },
    Vector {
        what: "1 KiB threshold, CIDv1 HAMT",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v1()
        },
        wrap: None,
        items: &[S("f", 40, 2, b"x")],
        cid: "bafybeihmse4ftzvbyd3h35hb4tw3cchfraeh3jx3aw77ksx2q2yzvz7u7m",
    },
    Vector {
        what: "1 KiB threshold, block estimation: 17 entries",
        cmd: "IPFS_PATH=<k1b> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            size_estimation: SizeEstimation::Block,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 17, 2, b"x")],
        cid: "QmfCLgvfnP2Vj8FVsbNKLMQSexVVA9eYnbkEhkLVppF5gn",
    },
    Vector {
        what: "1 KiB threshold, block estimation: 18 entries",
        cmd: "IPFS_PATH=<k1b> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            size_estimation: SizeEstimation::Block,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 18, 2, b"x")],
        cid: "QmUYhCtyR36oZnhTgSDZeQnNjZ6rxjs5q2zNVMdmmaRcuq",
    },
    Vector {
        what: "HAMT with subdirectories",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 30, 2, b"x"),
            F("s0/x", b"x"),
            F("s1/x", b"x"),
            F("s2/x", b"x"),
            F("s3/x", b"x"),
            F("s4/x", b"x"),
            F("s5/x", b"x"),
        ],
        cid: "QmWtP67EnGSDjq4Caz6c3amLSoN5T1vgia3ZyHqUfgDgkt",
    },
    Vector {
        what: "HAMT inside a plain directory inside a HAMT",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 30, 2, b"x"),
            S("sub/g", 40, 2, b"x"),
            F("sub/deeper/y", b"y"),
        ],
        cid: "QmWjRj1TTFKiQtMjuMoJ7DgpuZxSMohovn54CJJP2TU8tT",
    },
    Vector {
        what: "re-flush un-shards: long-named subdirectory, last entry crossed the threshold",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 25, 2, b"x"),
            F(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/inner",
                b"x",
            ),
            F("zz", b"x"),
        ],
        cid: "QmYHHzVo5rGEDLN26FQotdMpKafTLQs3CejpqN13GWBGVC",
    },
    Vector {
        what: "re-flush keeps a HAMT: short-named subdirectory",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 25, 2, b"x"),
            F("aaaaaaaaaaaaaaaaaaaa/inner", b"x"),
            F("zz", b"x"),
        ],
        cid: "QmSaVJQhVpn3dgfAViRNzeGNrgZH88z1qmgMKDDri9CEgb",
    },
    Vector {
        what: "same entries, the long name a file (HAMT)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 25, 2, b"x"),
            F(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                b"x",
            ),
            F("zz", b"x"),
        ],
        cid: "QmakzFwiQuKZEth2yBME8n2DSDJroR7FZHVTVejnAYgNVU",
    },
    Vector {
        what: "re-flush under block estimation",
        cmd: "IPFS_PATH=<k1b> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            size_estimation: SizeEstimation::Block,
            ..v0()
        },
        wrap: None,
        items: &[
            S("f", 14, 2, b"x"),
            F(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/inner",
                b"x",
            ),
            F("zz", b"x"),
        ],
        cid: "QmTdNvEhdCNEydmD3tV5LywNd2eSLaHYabTBgqzvqqSFXo",
    },
    Vector {
        what: "empty subdirectory crossing the threshold",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 26, 2, b"x"), D("zzzz", None, None)],
        cid: "QmSrwvTbBwJmkQas47anmwHPA1zBJu6VnC5GbiEqJnKDrF",
    },
    Vector {
        what: "blake2b-256",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --hash=blake2b-256 DIR",
        params: || ImportParams {
            hash: 0xb220,
            ..v1()
        },
        wrap: None,
        items: &[
            F("mars.txt", b"Hello Mars!\x0a"),
            F("venus.txt", b"Hello Venus!\x0a"),
            D("sub", None, None),
        ],
        cid: "bafykbzaceb3ot5errlrqmafalbh7s3eiqsnzrpkfy247xuz4pbv52m25jenng",
    },
    Vector {
        what: "--inline: small directories become identity CIDs",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 --inline DIR",
        params: || ImportParams {
            inline: true,
            ..v1()
        },
        wrap: None,
        items: &[
            D("empty", None, None),
            F("sub/a", b"x"),
            L("link", "a", None),
        ],
        cid: "bafybeihgf3gh56orq57vmkgz7m72wj5uu7pbi24iah5pqy2fdzvliy7ute",
    },
    Vector {
        what: "--inline with CIDv0",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --inline DIR",
        params: || ImportParams {
            inline: true,
            ..v0()
        },
        wrap: None,
        items: &[D("empty", None, None), F("f", b"x")],
        cid: "QmXmyPUuFhDuhgbhoBHSXTfwSn2HwSNgXM7Jv8gsVqw8FT",
    },
    Vector {
        what: "symlinks",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash DIR",
        params: || v0(),
        wrap: None,
        items: &[
            F("f", b"hi"),
            L("ln", "f", None),
            L("sub/abs", "/nonexistent/target", None),
            L("sub/ü", "../f", None),
        ],
        cid: "QmZR2i8e1wjx5i4KCBJ966gZhV6ER2ZATJQcPUVGU1Dcji",
    },
    Vector {
        what: "symlinks, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 DIR",
        params: || v1(),
        wrap: None,
        items: &[
            F("f", b"hi"),
            L("ln", "f", None),
            L("sub/abs", "/nonexistent/target", None),
            L("sub/ü", "../f", None),
        ],
        cid: "bafybeiaeovrjzikn3nnser6fsofp5d7yslg2jfhtg7qs3gyyuneiymmptu",
    },
    Vector {
        what: "directory and symlink mode (--preserve-mode)",
        cmd: "IPFS_PATH=<def> ipfs add -r --preserve-mode DIR",
        params: || ImportParams {
            preserve_mode: true,
            ..v0()
        },
        wrap: None,
        items: &[
            D("", Some(0o755), Some((1700000000, 0))),
            D("a", Some(0o750), Some((1600000000, 500000000))),
            D("a/b", Some(0o700), Some((1700000000, 0))),
            D("c", Some(0o1777), Some((1700000000, 0))),
            L("a/ln", "b", Some((1600000000, 500000000))),
            L("c/old", "x", Some((-1000, 0))),
        ],
        cid: "QmP2jJSbEEQrv1GauMZtgvBRnz1awTNWVAWHhsHUSbP3sM",
    },
    Vector {
        what: "directory and symlink mtime (--preserve-mtime)",
        cmd: "IPFS_PATH=<def> ipfs add -r --preserve-mtime DIR",
        params: || ImportParams {
            preserve_mtime: true,
            ..v0()
        },
        wrap: None,
        items: &[
            D("", Some(0o755), Some((1700000000, 0))),
            D("a", Some(0o750), Some((1600000000, 500000000))),
            D("a/b", Some(0o700), Some((1700000000, 0))),
            D("c", Some(0o1777), Some((1700000000, 0))),
            L("a/ln", "b", Some((1600000000, 500000000))),
            L("c/old", "x", Some((-1000, 0))),
        ],
        cid: "QmQGUcLkTz9AzZGdF7YPDk2yCNk1wUq2Cte3SWyNd7CDy9",
    },
    Vector {
        what: "mode and mtime, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --preserve-mode --preserve-mtime --cid-version=1 DIR",
        params: || ImportParams {
            preserve_mode: true,
            preserve_mtime: true,
            ..v1()
        },
        wrap: None,
        items: &[
            D("", Some(0o755), Some((1700000000, 0))),
            D("a", Some(0o750), Some((1600000000, 500000000))),
            D("a/b", Some(0o700), Some((1700000000, 0))),
            D("c", Some(0o1777), Some((1700000000, 0))),
            L("a/ln", "b", Some((1600000000, 500000000))),
            L("c/old", "x", Some((-1000, 0))),
        ],
        cid: "bafybeiejguhvsjzuuof7wf2he2j63j67wpevn4inwi4jnby5jymxcnxi4q",
    },
    Vector {
        what: "mode and mtime on a HAMT root",
        cmd: "IPFS_PATH=<k1> ipfs add -r --preserve-mode --preserve-mtime DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            preserve_mode: true,
            preserve_mtime: true,
            ..v0()
        },
        wrap: None,
        items: &[
            D("", Some(0o755), Some((1600000000, 500000000))),
            D("d00", Some(0o700), Some((1700000000, 0))),
            D("d01", Some(0o700), Some((1700000000, 0))),
            D("d02", Some(0o700), Some((1700000000, 0))),
            D("d03", Some(0o700), Some((1700000000, 0))),
            D("d04", Some(0o700), Some((1700000000, 0))),
            D("d05", Some(0o700), Some((1700000000, 0))),
            D("d06", Some(0o700), Some((1700000000, 0))),
            D("d07", Some(0o700), Some((1700000000, 0))),
            D("d08", Some(0o700), Some((1700000000, 0))),
            D("d09", Some(0o700), Some((1700000000, 0))),
            D("d10", Some(0o700), Some((1700000000, 0))),
            D("d11", Some(0o700), Some((1700000000, 0))),
            D("d12", Some(0o700), Some((1700000000, 0))),
            D("d13", Some(0o700), Some((1700000000, 0))),
            D("d14", Some(0o700), Some((1700000000, 0))),
            D("d15", Some(0o700), Some((1700000000, 0))),
            D("d16", Some(0o700), Some((1700000000, 0))),
            D("d17", Some(0o700), Some((1700000000, 0))),
            D("d18", Some(0o700), Some((1700000000, 0))),
            D("d19", Some(0o700), Some((1700000000, 0))),
            D("d20", Some(0o700), Some((1700000000, 0))),
            D("d21", Some(0o700), Some((1700000000, 0))),
            D("d22", Some(0o700), Some((1700000000, 0))),
            D("d23", Some(0o700), Some((1700000000, 0))),
            D("d24", Some(0o700), Some((1700000000, 0))),
            D("d25", Some(0o700), Some((1700000000, 0))),
            D("d26", Some(0o700), Some((1700000000, 0))),
            D("d27", Some(0o700), Some((1700000000, 0))),
            D("d28", Some(0o700), Some((1700000000, 0))),
            D("d29", Some(0o700), Some((1700000000, 0))),
        ],
        cid: "QmR97jBpZR5qB9XnJjj1u2n4hefFwMFedjoTs1NQSe74kC",
    },
    Vector {
        what: "-w wraps the directory",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash -w DIR",
        params: || v0(),
        wrap: Some("planets"),
        items: &[
            F("mars.txt", b"Hello Mars!\x0a"),
            F("venus.txt", b"Hello Venus!\x0a"),
            D("empty", None, None),
        ],
        cid: "QmfBgCjwFVXRLPyMW5njwqx8wTG2PtzyMFEUaTAyMF3Qm1",
    },
    Vector {
        what: "-w wraps, CIDv1",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --cid-version=1 -w DIR",
        params: || v1(),
        wrap: Some("planets"),
        items: &[
            F("mars.txt", b"Hello Mars!\x0a"),
            F("venus.txt", b"Hello Venus!\x0a"),
        ],
        cid: "bafybeib6yypfhmhzfhld6sxitltxjsmzpcw4nfntcalxex6uhgbsslnhsy",
    },
    Vector {
        what: "fanout 16 (--max-hamt-fanout)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --max-hamt-fanout=16 DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            hamt_fanout: 16,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 200, 3, b"x")],
        cid: "QmVW8djqYm62GfvgiHbEKQ54mwAZFgmygqDhyQEhYhZn8s",
    },
    Vector {
        what: "fanout 8 (one-digit prefixes)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --max-hamt-fanout=8 DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            hamt_fanout: 8,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 100, 3, b"x")],
        cid: "QmUMjmHhBm6SKR9yF77eSAQFarNzfiFjvQwh9dvKHa3GJW",
    },
    Vector {
        what: "fanout 1024 (three-digit prefixes)",
        cmd: "IPFS_PATH=<k1> ipfs add -r --max-hamt-fanout=1024 DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            hamt_fanout: 1024,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 3000, 4, b"x")],
        cid: "QmRVdQ6yDX8yVFo96rD8a4DxJSZpN1i8C8BtEjCEw7f53E",
    },
    Vector {
        what: "--max-directory-links=5 with 5 entries (plain)",
        cmd: "IPFS_PATH=<def> ipfs add -r --max-directory-links=5 DIR",
        params: || ImportParams {
            max_directory_links: 5,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 5, 1, b"x")],
        cid: "QmY3wbW2ToeytPLG4hHrov8Qj4FT2zrMxdC7YqPkiHg69s",
    },
    Vector {
        what: "--max-directory-links=5 with 6 entries (HAMT)",
        cmd: "IPFS_PATH=<def> ipfs add -r --max-directory-links=5 DIR",
        params: || ImportParams {
            max_directory_links: 5,
            ..v0()
        },
        wrap: None,
        items: &[S("f", 6, 1, b"x")],
        cid: "QmTAzbHqYyw5sUckjsinYGunV4165iHMka4ddPcQawGC7g",
    },
    Vector {
        what: "--max-directory-links=5 in a subdirectory, --only-hash",
        cmd: "IPFS_PATH=<def> ipfs add -r --only-hash --max-directory-links=5 DIR",
        params: || ImportParams {
            max_directory_links: 5,
            ..v0()
        },
        wrap: None,
        items: &[S("sub/f", 6, 1, b"x"), F("g", b"x")],
        cid: "QmPvLzs8cJb2GdX5QNAcv4MnMWhLFokpQPKj941VoYCwbw",
    },
    Vector {
        what: "--max-hamt-fanout=16 in a subdirectory, --only-hash",
        cmd: "IPFS_PATH=<k1> ipfs add -r --only-hash --max-hamt-fanout=16 DIR",
        params: || ImportParams {
            hamt_threshold: 1024,
            hamt_fanout: 16,
            ..v0()
        },
        wrap: None,
        items: &[S("sub/f", 200, 3, b"x")],
        cid: "QmWfy97GbQWoGDBJpie7AkhwuzkgemX1wxbrumx22cKmGv",
    },
];

pub(super) const HAMT_SUBDIRS: &[(&str, &str)] = &[
    ("f00", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f01", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f02", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f03", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f04", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f05", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f06", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f07", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f08", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f09", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f10", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f11", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f12", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f13", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f14", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f15", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f16", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f17", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f18", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f19", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f20", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f21", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f22", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f23", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f24", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f25", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f26", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f27", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f28", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f29", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s0/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s1/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s2/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s3/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s4/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s5/x", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("s5", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("s4", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("s0", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("s1", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("s3", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("s2", "Qmd31Yc93bam5GR22agu3rexdv9rNHQucXf5epxEp1DHBp"),
    ("", "QmWtP67EnGSDjq4Caz6c3amLSoN5T1vgia3ZyHqUfgDgkt"),
];
pub(super) const NESTED: &[(&str, &str)] = &[
    ("a/b/c", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f00", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f01", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f02", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f03", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f04", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f05", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f06", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f07", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f08", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f09", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f10", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f11", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f12", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f13", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f14", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f15", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f16", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f17", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f18", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f19", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f20", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f21", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f22", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f23", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f24", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f25", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f26", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f27", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f28", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("f29", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    (
        "sub/deeper/y",
        "QmTwEE2eSyzcvUctxP2negypGDtj7DQDKVy8s3Rvp6y6Pc",
    ),
    ("sub/g00", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g01", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g02", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g03", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g04", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g05", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g06", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g07", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g08", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g09", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g10", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g11", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g12", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g13", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g14", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g15", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g16", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g17", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g18", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g19", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g20", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g21", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g22", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g23", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g24", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g25", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g26", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g27", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g28", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g29", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g30", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g31", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g32", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g33", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g34", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g35", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g36", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g37", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g38", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("sub/g39", "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC"),
    ("a/b", "QmTa3L9TvS9gaLepewqkBJbFhHZUNKeZXVdLxCum69CQsq"),
    ("a", "QmT3kuufaE3sVtLzQMuJ51oh6tZf8oLbMPAW9o4Mt2e5Bh"),
    ("sub/e", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"),
    (
        "sub/deeper",
        "QmXNiJPe955t3T7GGNWGKkGLycdMZcxW8KLnK63HN7gPDz",
    ),
    ("sub", "QmWHkJkvbDKFYv6jUQMQ1DHQB5Gzetf59wvs6CbS1YorjR"),
    ("", "QmfKzLHSLSkwmcfk1BheeK7SYXcXEJVu4pq86zrgGLiU3t"),
];
pub(super) const WRAPPED: &[(&str, &str)] = &[
    (
        "planets/mars.txt",
        "QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN",
    ),
    (
        "planets/venus.txt",
        "QmU5kp3BH3B8tnWUU2Pikdb2maksBNkb92FHRr56hyghh4",
    ),
    (
        "planets/empty",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
    ),
    ("planets", "QmVc8S3JRxV21UcJr5aY4dc4JUQevKjeDgNS2CVS7swsMG"),
    ("", "QmfBgCjwFVXRLPyMW5njwqx8wTG2PtzyMFEUaTAyMF3Qm1"),
];
