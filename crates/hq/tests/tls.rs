//! TLS to HQ over rustls with libpq's sslmode meanings, against a real PostgreSQL server
//! with a certificate from a CA made here (openssl): verify-ca takes a certificate for
//! another name, verify-full refuses it, another CA is refused, require encrypts without
//! checking, disable does not encrypt.

mod common;

use common::*;
use redeemdesk_hq::testing::Cluster;
use redeemdesk_hq::HqTarget;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (scripts/deps.sh test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
}

async fn encrypted(target: &HqTarget) -> Result<bool, String> {
    let client = target.connect().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_means_what_libpq_says_over_rustls() {
    // A cluster of its own: this test turns TLS on.
    let mut hq = hq_on(Arc::new(Cluster::start())).await;
    let store = store_id("tls");
    hq.store(&store).await;
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    make_ca(d, "hq-ca");
    make_ca(d, "other-ca");
    // The server's certificate names hq.example only, not the loopback we connect to.
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=hq.example",
        ],
    );
    std::fs::write(d.join("san.ext"), "subjectAltName=DNS:hq.example\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "hq-ca.pem",
            "-CAkey",
            "hq-ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    // The server reads them from its own directory, the key private to it.
    let (cert, key) = (
        hq.cluster.dir.join("server.pem"),
        hq.cluster.dir.join("server.key"),
    );
    std::fs::copy(d.join("server.pem"), &cert).unwrap();
    std::fs::copy(d.join("server.key"), &key).unwrap();
    if String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).trim() == "0"
    {
        for f in [&cert, &key] {
            assert!(Command::new("chown")
                .arg("postgres:")
                .arg(f)
                .status()
                .unwrap()
                .success());
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // One statement each: a multi-statement string is one transaction, and ALTER SYSTEM
    // refuses to run inside one.
    for sql in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        hq.admin.batch_execute(&sql).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let url = |mode: &str| {
        format!(
            "postgres://{}@localhost:{}/{}?sslmode={mode}",
            redeemdesk_hq::roles::role_name(&store),
            hq.cluster.port,
            hq.db
        )
    };
    let target = |mode: &str, ca: Option<&str>| {
        let ca = ca.map(|c| d.join(c));
        HqTarget::new(&url(mode), Some(PASSWORD), ca.as_deref()).unwrap()
    };
    assert_eq!(
        encrypted(&target("verify-ca", Some("hq-ca.pem"))).await,
        Ok(true)
    );
    let e = encrypted(&target("verify-full", Some("hq-ca.pem")))
        .await
        .expect_err("verify-full checks the name: the certificate is for hq.example");
    assert!(
        e.to_lowercase().contains("name") || e.contains("NotValidForName"),
        "{e}"
    );
    let e = encrypted(&target("verify-ca", Some("other-ca.pem")))
        .await
        .expect_err("another CA is refused");
    assert!(!e.is_empty());
    assert_eq!(
        encrypted(&target("require", None)).await,
        Ok(true),
        "require: encrypted, unverified"
    );
    assert!(
        encrypted(&target("require", Some("other-ca.pem")))
            .await
            .is_err(),
        "require with a CA file verifies like verify-ca"
    );
    assert_eq!(encrypted(&target("prefer", None)).await, Ok(true));
    assert_eq!(encrypted(&target("disable", None)).await, Ok(false));
    let e = HqTarget::new(&url("verify-full"), Some(PASSWORD), None)
        .unwrap()
        .connect()
        .await
        .expect_err("verify-full without a CA file");
    assert!(e.to_string().contains("CA file"), "{e}");

    // The till's push over verified TLS.
    let t = till(30, 1_000, 21);
    let client = redeemdesk_hq::HqClient::new(target("verify-ca", Some("hq-ca.pem")));
    let up = uploader(&t, client, &store, "1号机");
    up.drain().await.expect("pushes over TLS");
    assert_same_chain(&hq, &t).await;
}
