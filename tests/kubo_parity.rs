//! Compares what cairn serves with what Kubo gives for the same CARs: every file reachable in
//! the fixture DAGs must come out byte for byte as Kubo's gateway serves it, and every
//! directory must list the same names as Kubo's `ls`. Skips with a message when Kubo is not installed
//! (fails instead under CAIRN_REQUIRE_PEERS=1).

mod support;

use support::{Kubo, Server};

/// Fixture roots holding UnixFS trees, with their blocks all present.
const TREES: &[&str] = &[
    "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy",
    "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i",
    "bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui",
    "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i",
    "bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34",
    "bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu",
    "bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu",
    "bafybeie72edlprgtlwwctzljf6gkn2wnlrddqjbkxo3jomh4n7omwblxly",
    "bafybeib5lboymwd6p2eo4qb2lkueaine577flvsjjeuevmp2nlio72xv5q",
    "QmQyqMY5vUBSbSxyitJqthgwZunCQjDVtNd8ggVCxzuPQ4",
    "bafybeiegxwlgmoh2cny7qlolykdf7aq7g6dlommarldrbm7c4hbckhfcke",
];

#[test]
fn every_fixture_file_matches_kubo_byte_for_byte() {
    let Some(repo) = Kubo::init() else { return };
    for car in support::fixture_cars() {
        repo.run(&["dag", "import", "--pin-roots=false", car.to_str().unwrap()]);
    }
    let kubo = repo.daemon();
    let server = Server::with_fixtures();
    let mut files = 0;
    let mut dirs = 0;
    let mut pending: Vec<(String, String)> = TREES
        .iter()
        .map(|root| (format!("/ipfs/{root}"), format!("/ipfs/{root}")))
        .collect();
    while let Some((url, ipfs_path)) = pending.pop() {
        let r = server.get(&format!("{url}/?noResolve"));
        let is_dir = r.status == 200 && r.header("content-type") == Some("application/json");
        if is_dir {
            dirs += 1;
            let names: Vec<String> = serde_json::from_slice(&r.body).unwrap();
            let ls = kubo.rpc(&format!(
                "ls?arg={}&resolve-type=false&size=false",
                support::percent_encode(&ipfs_path)
            ));
            assert_eq!(ls.status, 200, "ipfs ls {ipfs_path}: {}", ls.text());
            let ls: serde_json::Value = serde_json::from_slice(&ls.body).unwrap();
            let mut kubo_names: Vec<&str> = ls["Objects"][0]["Links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|link| link["Name"].as_str().unwrap())
                .collect();
            let mut ours: Vec<&str> = names.iter().map(|n| n.trim_end_matches('/')).collect();
            kubo_names.sort_unstable();
            ours.sort_unstable();
            assert_eq!(ours, kubo_names, "listing of {ipfs_path}");
            for name in &names {
                let name = name.trim_end_matches('/');
                pending.push((
                    format!("{url}/{}", support::percent_encode(name)),
                    format!("{ipfs_path}/{name}"),
                ));
            }
        } else {
            let r = server.get(&url);
            let theirs = kubo.gateway_get(&url, &[]);
            if r.header("content-type") == Some("inode/symlink") {
                // Kubo answers a symlink with its target too, but that is checked elsewhere.
                continue;
            }
            assert_eq!(r.status, 200, "{url}");
            assert_eq!(theirs.status, 200, "Kubo: {url}");
            assert!(
                r.body == theirs.body,
                "{ipfs_path}: bytes differ from Kubo's gateway"
            );
            files += 1;
        }
    }
    eprintln!("compared {files} files and {dirs} directories with Kubo");
    assert!(
        files > 250 && dirs > 10,
        "walked {files} files, {dirs} directories"
    );
}
