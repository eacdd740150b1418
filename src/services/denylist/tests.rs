//! The behaviour the spec's test fixture (NOpfs `tester/test.deny`) describes, rule by rule,
//! and list following.

use super::*;

/// The fixture's rules (its CIDs are of `rule1`, `rule2`… added with raw leaves off).
const RULES: &str = "version: 1
name: rules under test
hints:
  note: ignored
---
# rule1: a CID, by multihash
/ipfs/bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq
# rule2: every path
/ipfs/QmdWFA9FL52hx3j9EJZPQP1ZUH8Ygi5tLCX2cRDs6knSf8/*
# rule3 and rule4: path prefixes
/ipfs/Qmah2YDTfrox4watLCr3YgKyBwvjq8FJZEFdWY6WtJ3Xt2/test*
/ipfs/QmTuvSQbEDR3sarFAN9kAeXBpiBCyYYNxdxciazBba11eC/test/*
# rule5: exceptions
/ipfs/QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK/blocked*
!/ipfs/QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK/blockednot
!/ipfs/QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK/blocked/not
!/ipfs/QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK/blocked/exceptions*
# rule6, rule7: DNSLink names
/ipns/domain.example
/ipns/domain2.example/path
# rule8: an IPNS key
/ipns/k51qzi5uqu5dhmzyv3zac033i7rl9hkgczxyl81lwoukda2htteop7d3x0y1mf
# rule10: legacy double hashes of a CID, an IPNS key and a DNSLink name
//d9d295bde21f422d471a90f2a37ec53049fdf3e5fa3ee2e8f20e10003da429e7
//6ef262a67f2c7caa9722b0fe46aced2f1559c749eab2bcf2f2701f43f802e900
//fb5a70b1aade810d21e8195a0da05f40ebd099e4b4d6bf088dc604e4fcf34263
# rule11: a legacy double hash of a path
//3f8b9febd851873b3774b937cce126910699ceac56e72e64b866f8e258d09572
# rule12: a double-hashed CID
//QmX9dhRcQcKUw3Ws8485T5a9dtjrSCQaUAHnG4iK9i4ceM
# rule13: a double-hashed path, blake3
//gW813G35CnLsy7gRYYHuf63hrz71U1xoLFDVeV7actx6oX
# rule14: double-hashed names and name paths
//QmX6zeaAb8mC285YbXe4ac7LmX3jvrHBiFrw8kNnCM1bk4
//QmcwfDuZYijxztHVR7w71WtdDaETsrGUU3ARWbNiYD3Hhp
//QmdGtYErkPjfpUPjVMUypoX8XTE9PUTBBF6KE9AwWaBs1e
//QmQouNeftXbxGRt4U8s838diCuMPPHCfpHTR5w8bRREs9d
# rule15: empty blocks and directories are never blocked
/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn
/ipfs/bafkqaaa
/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
";

fn list() -> Arc<Denylist> {
    Denylist::from_text("test.deny", RULES.as_bytes()).unwrap()
}

fn cid(text: &str) -> Cid {
    crate::ipld::cid::parse(text).unwrap()
}

/// Whether a path written as text is blocked.
fn path_blocked(d: &Denylist, path: &str) -> bool {
    d.check_path(path).is_some()
}

fn expect(d: &Denylist, blocked: &[&str], allowed: &[&str], rule: &str) {
    for p in blocked {
        assert!(path_blocked(d, p), "{rule}: {p} should be blocked");
    }
    for p in allowed {
        assert!(!path_blocked(d, p), "{rule}: {p} should be allowed");
    }
}

#[test]
fn cids_are_blocked_by_multihash() {
    let d = list();
    for c in [
        "bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq",
        "bafkreihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq",
        "QmesfgDQ3q6prBy2Kg2gKbW4MAGuWiRP2DVuGA5MZSERLo",
    ] {
        let blocked = d.check_cid(&cid(c)).unwrap_or_else(|| panic!("{c}"));
        assert_eq!(&*blocked.list, "rules under test");
        assert_eq!(blocked.line, 7);
    }
    for c in [
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafyaabakaieac",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        "bafkqaaa",
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
    ] {
        assert!(d.check_cid(&cid(c)).is_none(), "{c} is never blocked");
    }
}

#[test]
fn ipfs_paths_and_prefixes() {
    let d = list();
    expect(
        &d,
        &[
            "/ipfs/bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq",
            "/ipfs/QmesfgDQ3q6prBy2Kg2gKbW4MAGuWiRP2DVuGA5MZSERLo",
        ],
        // The CID rule blocks the block, not paths below it (reading them needs the block,
        // which is refused where blocks are read).
        &["/ipfs/bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq/sub2"],
        "rule1",
    );
    expect(
        &d,
        &[
            "/ipfs/QmdWFA9FL52hx3j9EJZPQP1ZUH8Ygi5tLCX2cRDs6knSf8",
            "/ipfs/QmdWFA9FL52hx3j9EJZPQP1ZUH8Ygi5tLCX2cRDs6knSf8/a/b",
            "/ipfs/QmdWFA9FL52hx3j9EJZPQP1ZUH8Ygi5tLCX2cRDs6knSf8/z/",
        ],
        &[],
        "rule2",
    );
    assert!(d
        .check_cid(&cid("QmdWFA9FL52hx3j9EJZPQP1ZUH8Ygi5tLCX2cRDs6knSf8"))
        .is_some());
    for root in [
        "Qmah2YDTfrox4watLCr3YgKyBwvjq8FJZEFdWY6WtJ3Xt2",
        "QmTuvSQbEDR3sarFAN9kAeXBpiBCyYYNxdxciazBba11eC",
    ] {
        expect(
            &d,
            &[
                &format!("/ipfs/{root}/test"),
                &format!("/ipfs/{root}/test2"),
                &format!("/ipfs/{root}/test/one"),
            ],
            &[
                &format!("/ipfs/{root}/tes"),
                &format!("/ipfs/{root}"),
                &format!("/ipfs/{root}/one/test"),
            ],
            "rule3/rule4",
        );
    }
    let root = "QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK";
    expect(
        &d,
        &[
            &format!("/ipfs/{root}/blocked"),
            &format!("/ipfs/{root}/blocked2"),
        ],
        &[
            &format!("/ipfs/{root}/blockednot"),
            &format!("/ipfs/{root}/blocked/not"),
            &format!("/ipfs/{root}/blocked/exceptions"),
            &format!("/ipfs/{root}/blocked/exceptions2"),
            &format!("/ipfs/{root}/blocked/exceptions/one"),
        ],
        "rule5",
    );
}

#[test]
fn ipns_names_and_paths() {
    let d = list();
    expect(
        &d,
        &[
            "/ipns/domain.example",
            "/ipns/domain-example",
            "/ipns/DOMAIN.example",
        ],
        &[
            "/ipns/domainaefa.example",
            "/ipns/domain.example/path",
            "/ipns/domain--example",
        ],
        "rule6",
    );
    expect(
        &d,
        &["/ipns/domain2.example/path"],
        &["/ipns/domain2.example", "/ipns/domain2.example/path2"],
        "rule7",
    );
    expect(
        &d,
        &[
            "/ipns/k51qzi5uqu5dhmzyv3zac033i7rl9hkgczxyl81lwoukda2htteop7d3x0y1mf",
            "/ipns/bafzaajaiaejcaotjfs57kieazxny5japcmy5p2pgv2cic77tu6ogghttvurnrufx",
            "/ipns/12D3KooWDkNqEJNmreF3NYYFK1ws7Ra2fuW6cHBTu567SPV3LdYA",
        ],
        &["/ipns/12D3KooWDkNqEJNmreF3NYYFK1ws7Ra2fuW6cHBTu567SPV3LdYA/path"],
        "rule8",
    );
}

#[test]
fn legacy_double_hashes() {
    let d = list();
    assert!(d
        .check_cid(&cid(
            "bafybeiefwqslmf6zyyrxodaxx4vwqircuxpza5ri45ws3y5a62ypxti42e"
        ))
        .is_some());
    expect(
        &d,
        &[
            "/ipns/k51qzi5uqu5dixwsch9wpd9rolqby1m0uqj5hhxwtxal0dwltastfmh01dlniq",
            "/ipns/bafzaajaiaejca3vrvdzmu4qntwa2pn6apsd4ug5k63ckdyhnd3g6vdvgvujdw62s",
            "/ipns/very-bad-example.eth",
            "/ipns/very-bad-example.eth/",
        ],
        &[],
        "rule10",
    );
    expect(
        &d,
        &[
            "/ipfs/bafybeiefwqslmf6zyyrxodaxx4vwqircuxpza5ri45ws3y5a62ypxti42e/",
            "/ipfs/bafybeiefwqslmf6zyyrxodaxx4vwqircuxpza5ri45ws3y5a62ypxti42e",
            "/ipfs/bafybeiefwqslmf6zyyrxodaxx4vwqircuxpza5ri45ws3y5a62ypxti42e/path",
        ],
        &["/ipfs/bafybeiefwqslmf6zyyrxodaxx4vwqircuxpza5ri45ws3y5a62ypxti42e/path2"],
        "rule11",
    );
}

#[test]
fn multihash_double_hashes() {
    let d = list();
    for c in [
        "bafybeidjwik6im54nrpfg7osdvmx7zojl5oaxqel5cmsz46iuelwf5acja",
        "QmVTF1yEejXd9iMgoRTFDxBv7HAz9kuZcQNBzHrceuK9HR",
    ] {
        assert!(d.check_cid(&cid(c)).is_some(), "rule12: {c}");
    }
    expect(
        &d,
        &[
            "/ipfs/bafyb4ieqht3b2rssdmc7sjv2cy2gfdilxkfh7623nvndziyqnawkmo266a/path",
            "/ipfs/f01701e20903cf61d46521b05f926ba1634628d0bba8a7ffb5b6d5a3ca310682ca63b5ef0/path",
        ],
        &[
            "/ipfs/bafyb4ieqht3b2rssdmc7sjv2cy2gfdilxkfh7623nvndziyqnawkmo266a/",
            "/ipfs/bafyb4ieqht3b2rssdmc7sjv2cy2gfdilxkfh7623nvndziyqnawkmo266a/path2",
        ],
        "rule13",
    );
    expect(
        &d,
        &[
            "/ipns/my.domain.com",
            "/ipns/my.domain2.com/path",
            "/ipns/k51qzi5uqu5dixwsch9wpd9rolqby1m0uqj5hhxwtxal0dwltastfmh01dabcd",
            "/ipns/k51qzi5uqu5dixwsch9wpd9rolqby1m0uqj5hhxwtxal0dwltastfmh01d1234/mypath",
            "/ipns/bafzaajaiaejca3vrvdzmu4qntwa2pn6apsd4ug5k63ckdyhnd3g6vdvgvujczuoq/mypath",
        ],
        &[
            "/ipns/my.domain2.com/path2",
            "/ipns/k51qzi5uqu5dixwsch9wpd9rolqby1m0uqj5hhxwtxal0dwltastfmh01d1234/mypath2",
        ],
        "rule14",
    );
}

#[test]
fn percent_encoded_paths_match_decoded_segments() {
    let d = Denylist::from_text(
        "l",
        b"/ipfs/bafybeihfg3d7rdltd43u3tfvncx7n5loqofbsobojcadtmokrljfthuc7y/927%20-%20Standards/927%20-%20Standards.png\n",
    )
    .unwrap();
    let root = cid("bafybeihfg3d7rdltd43u3tfvncx7n5loqofbsobojcadtmokrljfthuc7y");
    assert!(d
        .check_ipfs(&root, &["927 - Standards", "927 - Standards.png"])
        .is_some());
    assert!(d.check_ipfs(&root, &["927 - Standards"]).is_none());
}

#[test]
fn a_later_rule_or_list_wins() {
    let c = "bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq";
    // Within a list: the last matching rule, whatever its kind.
    let d = Denylist::from_text(
        "l",
        format!("!/ipns/my.domain\n/ipns/my.domain\n/ipfs/{c}\n!/ipfs/{c}\n").as_bytes(),
    )
    .unwrap();
    assert!(d.check_ipns("my.domain", &[]).is_some());
    assert!(d.check_cid(&cid(c)).is_none());
    // Across lists: a later list (in order) decides first.
    let d = Denylist::empty();
    let first = follow::parse_list(
        1,
        (0, "a.deny".into()),
        "a",
        format!("/ipfs/{c}\n").as_bytes(),
    )
    .unwrap();
    let second = follow::parse_list(
        2,
        (0, "b.deny".into()),
        "b",
        format!("!/ipfs/{c}\n").as_bytes(),
    )
    .unwrap();
    d.replace(2, Some(second));
    d.replace(1, Some(first));
    assert!(d.check_cid(&cid(c)).is_none(), "b.deny comes after a.deny");
    d.replace(2, None);
    assert_eq!(d.check_cid(&cid(c)).unwrap().list.as_ref(), "a");
}

#[test]
fn base58btc_is_bs58() {
    let mut state = 7u64;
    for len in 0..80 {
        for zeros in [0, 1, 3] {
            let mut bytes = vec![0u8; zeros.min(len)];
            while bytes.len() < len {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                bytes.push((state >> 33) as u8);
            }
            let mut ours = String::new();
            base58btc(&bytes, &mut ours);
            assert_eq!(ours, bs58::encode(&bytes).into_string(), "{bytes:?}");
        }
    }
    let mut all_ones = String::new();
    base58btc(&[0xff; 34], &mut all_ones);
    assert_eq!(all_ones, bs58::encode([0xff; 34]).into_string());
}

#[test]
fn an_empty_denylist_blocks_nothing() {
    let d = Denylist::empty();
    assert!(d.check_cid(&cid("bafkqabtimvwgy3yk")).is_none());
    assert_eq!(d.size(), (0, 0));
    assert!(d.check_path("not a path").is_none());
}

#[test]
fn withheld_blocks_are_absent() {
    let (_dir, store) = crate::services::testing::store_with(&[]);
    let blocked = Cid::new_v1(
        0x55,
        multihash_codetable::MultihashDigest::digest(
            &multihash_codetable::Code::Sha2_256,
            b"blocked",
        ),
    );
    let fine = Cid::new_v1(
        0x55,
        multihash_codetable::MultihashDigest::digest(&multihash_codetable::Code::Sha2_256, b"fine"),
    );
    store.put(&blocked, b"blocked").unwrap();
    store.put(&fine, b"fine").unwrap();
    let d = Denylist::from_text("l", format!("/ipfs/{blocked}\n").as_bytes()).unwrap();
    let source = Withheld::new(Arc::clone(&store) as SharedSource, d);
    crate::test_support::block_on(async {
        assert_eq!(source.get(&blocked).await.unwrap(), None);
        assert!(!source.has(&blocked).await.unwrap());
        assert_eq!(source.size(&blocked).await.unwrap(), None);
        assert_eq!(source.get(&fine).await.unwrap().unwrap(), &b"fine"[..]);
    });
}

mod following {
    use super::*;
    use std::io::Write;

    const A: &str = "bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq";
    const B: &str = "bafybeidjwik6im54nrpfg7osdvmx7zojl5oaxqel5cmsz46iuelwf5acja";

    fn options(dir: &std::path::Path) -> DenylistOptions {
        DenylistOptions {
            dir: Some(dir.to_owned()),
            ..DenylistOptions::default()
        }
    }

    fn blocked(d: &Denylist, c: &str) -> bool {
        d.check_cid(&cid(c)).is_some()
    }

    #[test]
    fn appended_lines_are_read_and_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.deny");
        std::fs::write(&path, format!("name: mine\n---\n/ipfs/{A}\n")).unwrap();
        let d = Denylist::open(&options(dir.path())).unwrap();
        assert!(blocked(&d, A) && !blocked(&d, B));
        // A partial line is not read until its newline comes.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(file, "# more\n/ipfs/{B}").unwrap();
        d.reload_files(false).unwrap();
        assert!(!blocked(&d, B));
        writeln!(file).unwrap();
        d.reload_files(false).unwrap();
        let b = d.check_cid(&cid(B)).expect("appended rule");
        assert_eq!((b.list.as_ref(), b.line), ("mine", 5));
        assert_eq!(d.size(), (1, 2));
    }

    #[test]
    fn rewritten_new_and_removed_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.deny");
        std::fs::write(&path, format!("/ipfs/{A}\n/ipfs/{B}\n")).unwrap();
        let d = Denylist::open(&options(dir.path())).unwrap();
        assert!(blocked(&d, A) && blocked(&d, B));
        // Replaced by a longer file whose start differs: read again whole.
        std::fs::write(
            &path,
            format!("# replaced, and longer than before\n/ipfs/{B}\n"),
        )
        .unwrap();
        d.reload_files(false).unwrap();
        assert!(!blocked(&d, A) && blocked(&d, B));
        // Truncated.
        std::fs::write(&path, "").unwrap();
        d.reload_files(false).unwrap();
        assert!(!blocked(&d, B));
        // A new file in the directory, then none.
        std::fs::write(dir.path().join("other.deny"), format!("/ipfs/{A}\n")).unwrap();
        std::fs::write(dir.path().join("ignored.txt"), format!("/ipfs/{B}\n")).unwrap();
        d.reload_files(false).unwrap();
        assert!(blocked(&d, A) && !blocked(&d, B));
        std::fs::remove_file(dir.path().join("other.deny")).unwrap();
        d.reload_files(false).unwrap();
        assert!(!blocked(&d, A));
    }

    #[test]
    fn a_broken_list_fails_at_start_and_keeps_its_rules_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.deny");
        std::fs::write(&path, "version: 9\n---\n").unwrap();
        assert!(Denylist::open(&options(dir.path())).is_err());
        std::fs::write(&path, format!("/ipfs/{A}\n")).unwrap();
        let d = Denylist::open(&options(dir.path())).unwrap();
        std::fs::write(&path, "name: [broken\n---\n/ipfs/x\n").unwrap();
        d.reload_files(false).unwrap();
        assert!(blocked(&d, A), "the old rules stay");
        let missing = DenylistOptions {
            lists: vec![dir.path().join("nope.deny").display().to_string()],
            ..DenylistOptions::default()
        };
        assert!(Denylist::open(&missing).is_err());
    }

    #[test]
    fn named_lists_come_after_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.deny"), format!("/ipfs/{A}\n")).unwrap();
        let extra = tempfile::tempdir().unwrap();
        let named = extra.path().join("exceptions.deny");
        std::fs::write(&named, format!("!/ipfs/{A}\n")).unwrap();
        let d = Denylist::open(&DenylistOptions {
            lists: vec![named.display().to_string()],
            ..options(dir.path())
        })
        .unwrap();
        assert!(!blocked(&d, A));
    }
}
